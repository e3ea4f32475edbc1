"""What reaches the user's terminal from the libraries, one line at a time.

:func:`one_line_warnings` is installed by :func:`ctbridge.cli.app.main` around every command:
the first Python warning (pydicom's about a damaged header, nibabel's about a broken affine,
torch's) becomes one line ``ctbridge: warning: <Category>: <first line of the message>`` on
stderr; repeats are not shown again, and when a second, different warning comes, one more line
names a log file (in the temporary folder) that receives every warning in full. A failing
command thus prints three lines at most: a warning, the log's name, the error. Log records of
WARNING and above from libraries that log instead (pydicom's ``warn_and_log`` does both;
pylibjpeg and openjpeg log their decoders' complaints) are treated the same, named by their
logger. ctbridge's own loggers keep their handlers (the training log).
``PYTHONWARNINGS=ignore`` still silences warnings.

:func:`usage_error_line` turns a click/typer usage error (a bad option value, an unknown
option) into the one-line ``ctbridge: error: ...`` form of every other error.

Example:
    >>> import io, warnings
    >>> err = io.StringIO()
    >>> with one_line_warnings(err):
    ...     for _ in range(2):
    ...         warnings.warn("pixel data is short\\nsecond line", UserWarning)
    >>> err.getvalue()
    'ctbridge: warning: UserWarning: pixel data is short\\n'
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

PREFIX = "ctbridge: warning: "
SHOWN = 1  # warnings shown on stderr: with the log's line and an error, three lines at most
LOG_LIMIT = 10_000  # warnings written to the log at most


def first_line(text: object) -> str:
    """The first non-empty line of ``text``, stripped ("" when there is none)."""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return ""


class _OneLine:
    """The first warning as one ``ctbridge: warning:`` line; from the second distinct one on,
    every warning goes in full to a log file named by one more line. Messages that differ in
    their numbers only ("value length (26)", "(857)") count as one."""

    def __init__(self, stream: IO[str] | None, shown: int = SHOWN) -> None:
        self.stream = stream
        self.shown = shown
        self.seen: set[str] = set()  # first lines with their numbers masked
        self.bodies: set[str] = set()  # full texts met
        self.entries: list[str] = []  # what the log holds (or will hold)
        self.log: Path | None = None

    def _write(self, line: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(line + "\n")
        stream.flush()

    def _keep(self, entry: str) -> None:
        """Every distinct warning (up to LOG_LIMIT) is kept, and logged once there is a log."""
        if len(self.entries) >= LOG_LIMIT:
            return
        self.entries.append(entry)
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as f:
                f.write(entry.rstrip() + "\n")

    def emit(self, source: str, message: object, where: str = "") -> None:
        text = first_line(message) or "(no message)"
        key = re.sub(r"\d+", "#", text)
        body = str(message).strip() or text
        if body not in self.bodies and len(self.bodies) < LOG_LIMIT:
            self.bodies.add(body)  # pydicom warns and logs the same text: kept once
            self._keep(f"{source}: {body}" + (f"\n    at {where}" if where else ""))
        if key in self.seen:
            return
        self.seen.add(key)
        if len(self.seen) <= self.shown:
            self._write(f"{PREFIX}{source}: {text}")
        elif self.log is None:
            fd, name = tempfile.mkstemp(prefix="ctbridge-warnings-", suffix=".log")
            os.close(fd)
            self.log = Path(name)
            self.log.write_text("".join(e.rstrip() + "\n" for e in self.entries),
                                encoding="utf-8")
            self._write(f"{PREFIX}more warnings; all of them in {self.log}")


class _LogHandler(logging.Handler):
    def __init__(self, out: _OneLine) -> None:
        super().__init__(logging.WARNING)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "ctbridge" or record.name.startswith("ctbridge."):
            return  # ctbridge's loggers have their own handlers (train.log)
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string must not end the command
            message = str(record.msg)
        self.out.emit(record.name, message)


@contextmanager
def one_line_warnings(stream: IO[str] | None = None) -> Iterator[None]:
    """Inside: warnings and library log records of WARNING and above are one line each on
    ``stream`` (default: ``sys.stderr`` at the time of writing), each distinct message once."""
    out = _OneLine(stream)

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        out.emit(category.__name__, message, f"{filename}:{lineno}")

    handler = _LogHandler(out)
    root = logging.getLogger()
    with warnings.catch_warnings():
        warnings.showwarning = show
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)


def usage_error_line(exc: BaseException) -> str | None:
    """``ctbridge: error: <message>`` for a click/typer usage error (typer vendors click, so
    it is recognised by shape), None for anything else and for ``no_args_is_help``'s help."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        return None
    format_message = getattr(exc, "format_message", None)
    if not callable(format_message) or not isinstance(getattr(exc, "exit_code", None), int):
        return None
    message = " ".join(line.strip() for line in str(format_message()).splitlines()
                       if line.strip()).replace("Value error, ", "")
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None)
    hint = f" (see '{command} --help')" if command else ""
    return f"ctbridge: error: {message}{hint}"
