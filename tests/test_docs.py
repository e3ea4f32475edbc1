"""The user documentation holds together: README.md and docs/*.md.

Every relative link resolves (a file or folder of the repository; for ``FILE.md#anchor`` also a
heading of that file under GitHub's slug rules), the README stays short enough to read, and no
file points at DESIGN.md, which is not in the repository. Plain text parsing only: no torch.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

README_MAX_LINES = 350
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target); target up to the first space or closing parenthesis
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
EXTERNAL = ("http://", "https://", "mailto:", "ftp://")


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines outside fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped except hyphens and spaces
    (letters, digits and underscores stay), spaces -> hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub makes for the headings of ``path`` (repeats get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link in the prose of ``path`` (not in code)."""
    out = []
    for number, line in prose_lines(path):
        text = CODE_SPAN.sub("", line)
        out += [(number, target) for target in INLINE_LINK.findall(text)]
        match = REFERENCE_DEF.match(text)
        if match:
            out.append((number, match.group(1)))
    return out


def test_slug_follows_github():
    assert slug("Training on a GPU") == "training-on-a-gpu"
    assert slug("The demo (`make demo`)") == "the-demo-make-demo"
    assert slug("Removed switches") == "removed-switches"
    assert slug("`cpu-small` vs. CycleGAN: 8 minutes") == "cpu-small-vs-cyclegan-8-minutes"
    assert (slug("Sorting a DICOM export (`ctbridge prepare`)")
            == "sorting-a-dicom-export-ctbridge-prepare")


def test_links_are_found_outside_code():
    page = "see [usage](docs/usage.md#install), ![fig](docs/img/a.png) and `[x](no.md)`"
    found = INLINE_LINK.findall(CODE_SPAN.sub("", page))
    assert found == ["docs/usage.md#install", "docs/img/a.png"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    problems = []
    for number, target in links(page):
        if target.startswith(EXTERNAL):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        where = f"{page.relative_to(ROOT)}:{number}: {target}"
        if not linked.exists():
            problems.append(f"{where}: no such file")
            continue
        if anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{where}: no heading with anchor #{anchor} in {linked.name}")
    assert not problems, "\n".join(problems)


def test_readme_is_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}); move details to docs/")


def test_nothing_points_at_design_md():
    """DESIGN.md is not in the repository, so no file may send a reader there."""
    skip_dirs = {"__pycache__", ".pytest_cache", ".ruff_cache"}
    candidates = [README, *(ROOT / "docs").rglob("*"), *(ROOT / "src").rglob("*"),
                  *(ROOT / "tests").rglob("*")]
    hits = []
    for path in candidates:
        parts = set(path.relative_to(ROOT).parts)
        if (not path.is_file() or path == Path(__file__).resolve() or parts & skip_dirs
                or any(p.endswith(".egg-info") for p in parts)):
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            if b"DESIGN.md" in line:
                hits.append(f"{path.relative_to(ROOT)}:{number}")
    assert not hits, "DESIGN.md is not in the repository; mentioned at:\n" + "\n".join(hits)
