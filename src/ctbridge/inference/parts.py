"""Splitting a folder or a data set over several processes: ``--num-parts N --part-id I``.

nnU-Net's convention for parallel prediction (``nnUNetv2_predict -num_parts N -part_id I``):
the items sorted by name, and part ``I`` takes every ``N``-th one starting at ``I``. The shares
are disjoint, together they are everything, and they depend only on the names, so the same
command with ``--part-id 0`` ... ``N-1`` on N machines or GPUs covers every item once.

Example:
    >>> select_part(["e", "a", "d", "b", "c", "f"], num_parts=2, part_id=1)
    ['b', 'd', 'f']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ctbridge.errors import ConfigError

T = TypeVar("T")


def check_part(num_parts: int, part_id: int) -> None:
    """ConfigError (one line at the CLI) unless ``num_parts >= 1`` and ``0 <= part_id <
    num_parts``."""
    if num_parts < 1:
        raise ConfigError(f"--num-parts must be at least 1, got {num_parts}")
    if not 0 <= part_id < num_parts:
        raise ConfigError(f"--part-id must be in 0..{num_parts - 1} for --num-parts "
                          f"{num_parts}, got {part_id}")


def select_part(items: Sequence[T], num_parts: int, part_id: int,
                name: Callable[[T], str] = str) -> list[T]:
    """Part ``part_id`` of ``num_parts``: ``items`` sorted by ``name``, every ``num_parts``-th
    from ``part_id`` on."""
    check_part(num_parts, part_id)
    return sorted(items, key=name)[part_id::num_parts]
