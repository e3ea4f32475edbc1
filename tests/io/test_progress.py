"""Progress bars: redrawn in place on a terminal, plain lines (no carriage returns) in a log."""

from __future__ import annotations

import io
import subprocess
import sys

from ctbridge.io.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_whole_lines_and_a_terminal_a_bar():
    log, tty = io.StringIO(), Terminal()
    for stream in (log, tty):
        bar = progress_bar(range(500), desc="qc train", unit="step", file=stream)
        for step in bar:
            bar.set_postfix(loss=f"{1 / (step + 1):.3f}")  # every step, as the segmenter does
    assert "\r" not in log.getvalue()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2, lines  # the start and the end, not a line per step
    assert lines[0].startswith("qc train: 0/500 step [00:0")
    assert lines[1].startswith("qc train: 500/500 step [") and lines[1].endswith("loss=0.002")
    assert "\r" in tty.getvalue() and "|" in tty.getvalue()  # tqdm's bar, redrawn in place
    # a scan's batches (transient, nested in the scans' bar): no cursor moves, no extra lines
    nested = io.StringIO()
    for _ in progress_bar(range(2), desc="scans", file=nested):
        for _ in progress_bar(range(3), desc="nc->ce (full)", leave=False, file=nested):
            pass
    assert "\x1b" not in nested.getvalue() and "nc->ce" not in nested.getvalue()
    assert [line.split(" [")[0] for line in nested.getvalue().splitlines()] == [
        "scans: 0/2 it", "scans: 2/2 it"]
    quiet = io.StringIO()
    for _ in progress_bar(range(3), enabled=False, file=quiet):
        pass
    assert quiet.getvalue() == ""


def test_a_command_piped_to_a_log_writes_no_carriage_returns(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ctbridge", "phantom", "-o", str(tmp_path / "p"), "--patients",
         "2", "--size", "32", "--slices", "2", "--phases", "nc"],
        capture_output=True, text=True, check=True)
    assert "\r" not in done.stderr
    assert "phantom: 2/2 patient" in done.stderr.splitlines()[-1]


def test_a_bar_asked_for_terminal_widths_still_writes_lines_to_a_log():
    """The trainer asks for ``dynamic_ncols``; in a log (a pipe, pytest's capture) the plain
    line bar sets its own width instead of failing on the repeated keyword."""
    log = io.StringIO()
    for _ in progress_bar(range(3), file=log, desc="train", dynamic_ncols=True, ncols=80,
                          ascii=False):
        pass
    assert "train" in log.getvalue() and "\r" not in log.getvalue()
