"""Progress bars on a terminal, plain lines in a log: every ctbridge loop makes its bar here.

On a terminal (or in a notebook) :func:`progress_bar` is tqdm's bar. When stderr is a file or a
pipe (``ctbridge synthesize ... 2> log``, a batch job, CI), tqdm's carriage-return redraws
would fill the log with one endless line; there the bar becomes a plain line such as
``synthesize: 3/6 case [00:41<00:40]``, written when it starts, at most every
``LOG_INTERVAL`` seconds, and when it ends. A transient bar (``leave=False``: the batches of
one scan) writes a line only once it has run ``LOG_INTERVAL`` seconds.

The trainer (:mod:`ctbridge.training.trainer`) makes its own bars with tqdm directly.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> for _ in progress_bar(range(3), desc="cases", unit="case", file=out):
    ...     pass
    >>> out.getvalue().splitlines()[-1]
    'cases: 3/3 case [00:00<00:00]'
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import IO, Any

import tqdm.auto
from tqdm import tqdm as std_tqdm
from tqdm.auto import tqdm as auto_tqdm

LOG_INTERVAL = 30.0  # seconds between two lines of a bar in a log
LINE_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}]{postfix}"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _Lines:
    """A stream for tqdm that turns its carriage-return redraws into whole lines."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> int:
        text = ANSI.sub("", text)  # nested bars move the cursor up: no place in a log
        for part in text.replace("\r", "\n").split("\n"):
            line = part.rstrip()
            if line and line != self.last:
                self.stream.write(line + "\n")
                self.last = line
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"


# tqdm.auto chose its notebook widget (Jupyter): bars stay widgets there
IN_NOTEBOOK = getattr(tqdm.auto, "notebook_tqdm", std_tqdm) is not std_tqdm


class _LogBar(std_tqdm):  # type: ignore[misc]
    """A bar whose postfix and description changes wait for the next line (a loop that sets
    its loss every step must not write a line every step)."""

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        super().set_postfix(ordered_dict, refresh=False, **kwargs)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        super().set_postfix_str(s, refresh=False)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        super().set_description(desc, refresh=False)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(iterable: Iterable[Any] | None = None, *, enabled: bool = True,
                 file: IO[str] | None = None, **kwargs: Any) -> std_tqdm:
    """tqdm over ``iterable`` (or ``total=``): a bar on a terminal or in a notebook, plain
    lines otherwise (module doc); nothing when ``enabled`` is False.

    Args:
        file: where it goes (default: ``sys.stderr`` at the time of the call).
        **kwargs: tqdm's (``desc``, ``unit``, ``total``, ``leave``, ...).
    """
    stream = file if file is not None else sys.stderr
    if not enabled:
        return std_tqdm(iterable, disable=True, **kwargs)
    if _is_terminal(stream) or (IN_NOTEBOOK and file is None):
        return auto_tqdm(iterable, file=stream, **kwargs)
    kwargs.setdefault("mininterval", LOG_INTERVAL)
    if not kwargs.get("leave", True):  # a transient bar (a scan's batches): a line only when
        kwargs.setdefault("delay", LOG_INTERVAL)  # it lasts, not two per scan
    kwargs.setdefault("bar_format", LINE_FORMAT)
    kwargs.setdefault("unit", "it")
    for terminal_only in ("dynamic_ncols", "ncols", "ascii"):  # a log line has its own
        kwargs.pop(terminal_only, None)
    return _LogBar(iterable, file=_Lines(stream), ascii=True, dynamic_ncols=False, ncols=200,
                   **kwargs)
