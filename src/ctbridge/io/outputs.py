"""Results on disk: strict JSON (NaN and inf become null) and text, written atomically."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ctbridge.io.atomic import atomic_path


def to_jsonable(obj: Any) -> Any:
    """Plain Python types for ``json``; NaN and inf become ``None`` (strict JSON has neither)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(data: Any, path: Path) -> Path:
    """Strict JSON (no NaN/inf), indented, written atomically."""
    text = json.dumps(to_jsonable(data), indent=2, allow_nan=False)
    return write_text(text + "\n", path)


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
