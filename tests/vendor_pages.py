"""The vendor pages in shared/seeds/, for tests that run the vendors' own code examples against the
sandbox: reading a page (a missing page skips the test) and cutting a snippet out of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
NODE = shutil.which("node") or "node"
needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="node is not installed: the vendor's JavaScript examples cannot run"
)


def page_text(name: str) -> str:
    page = SEEDS / name
    if not page.is_file():
        pytest.skip(f"vendor page not found at {page}")
    return page.read_text(encoding="utf-8")


def cut_through_line(text: str, start: str, marker: str) -> str:
    """From `start` through the end of the first later line containing `marker`, ending in a newline."""
    begin = text.index(start)
    end = text.find("\n", text.index(marker, begin))
    return text[begin : end if end != -1 else len(text)] + "\n"


def cut_through(text: str, start: str, end: str) -> str:
    """From `start` through the first later `end`, both included (for pages whose snippets are glued)."""
    begin = text.index(start)
    return text[begin : text.index(end, begin) + len(end)]
