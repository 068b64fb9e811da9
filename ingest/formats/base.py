"""What every reader returns, and the small helpers they share.

A reader turns the bytes of one file into `Block`s under a heading path (the same shape the
bundled documents are parsed into, so chunking, citations and the reading view work the
same), plus whatever title, date and kind the file itself records. Readers never touch the
disk or the index: they either return a `ReadResult` or raise `InvalidDocument` with a
message a user can act on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from assistant.core.text import squash
from ingest.blocks import Block
from ingest.clean import base_repair

_SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass
class ReadResult:
    """One file, read: blocks in reading order and the metadata found in the file."""

    format: str
    blocks: list[Block]
    title: str | None = None
    date: str | None = None
    kind: str | None = None
    authors: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)  # what the reader dropped or guessed
    withheld: list[str] = field(default_factory=list)  # lines that direct a model (defuse.py)


def tidy(text: str, keep_indent: bool = False) -> str:
    """ftfy (mis-decoded characters), NFC, no control characters, single spaces per line.

    `keep_indent` leaves leading spaces alone (Markdown lists and code depend on them).
    """
    text = base_repair(text)
    if keep_indent:
        lines = [line.rstrip() for line in text.split("\n")]
    else:
        lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return unicodedata.normalize("NFC", "\n".join(lines).strip("\n"))


def meta_text(value: object, limit: int = 300) -> str | None:
    """A metadata string fit for a title or date: tidied, one line, not empty."""
    if value is None:
        return None
    text = " ".join(tidy(str(value)).split())[:limit].strip()
    return text or None


class HeadingPath:
    """The current heading path; a heading at level n replaces levels n and deeper.

    A heading replaced before any text was read under it is not lost: `enter` returns it
    as a block of text where it stood. A title block ("Riverbend Unified" / "Board work
    session" / "Presented by Superintendent Vega") is read as a run of headings, and only
    the last one has text under it; the lines before it name the author, date and subject.
    """

    def __init__(self) -> None:
        self._levels: list[tuple[int, str]] = []
        # Per level: the page the heading was printed on, while no block was read under it.
        self._empty: list[tuple[str | None] | None] = []

    def enter(self, level: int, title: str, pages: str | None = None) -> list[Block]:
        """Open a heading (printed on `pages`); the headings it replaces that had no text
        under them, as blocks in reading order, under the headings above them that stay
        headings (those kept, and those that had text)."""
        keep = sum(1 for lv, _ in self._levels if lv < level)
        titles = [t for _, t in self._levels]
        read = sum(1 for empty in self._empty if empty is None)  # always a prefix
        orphans = [
            _block(tuple(titles[: min(i, max(keep, read))]), titles[i], "narrative", e[0])
            for i, e in enumerate(self._empty)
            if i >= keep and e is not None
        ]
        self._levels = self._levels[:keep]
        self._empty = [None] * keep if orphans else self._empty[:keep]
        self._levels.append((level, title))
        self._empty.append((pages,))
        return orphans

    def extend(self, text: str) -> None:
        """Continue the deepest heading (a heading printed over two lines)."""
        level, title = self._levels[-1]
        self._levels[-1] = (level, f"{title} {text}")

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self._levels)

    def block(self, text: str, kind: str = "narrative", pages: str | None = None) -> Block:
        """A block under the current path; narrative under one heading may share a chunk."""
        self._empty = [None] * len(self._levels)
        return _block(self.path, text, kind, pages)


def _block(path: tuple[str, ...], text: str, kind: str, pages: str | None) -> Block:
    group = "/".join(path) or "body"
    if pages:
        group += f"@{pages}"  # never pack passages from different pages into one chunk
    return Block(path, text, kind=kind, pages=pages, group=group if kind == "narrative" else None)


def regroup(block: Block) -> Block:
    """Recompute a narrative block's packing group after its path changed."""
    if block.kind == "narrative":
        group = "/".join(block.path) or "body"
        block.group = group + (f"@{block.pages}" if block.pages else "")
    return block


def promote_title(result: ReadResult) -> ReadResult:
    """A heading that every block sits under is the document's title, not a section.

    When the file names no other title (or a longer form of it: "Plan" / "Plan 2025-2028"),
    it leaves the section paths, so that citations say "Budget" rather than "Springfield
    Strategic Plan > Budget", and becomes the title if the file has none.
    """
    blocks = result.blocks
    if not blocks or not blocks[0].path:
        return result
    top = blocks[0].path[0]
    named = squash((result.title or "").casefold())
    heading = squash(top.casefold())
    if named and not (named.startswith(heading) or heading.startswith(named)):
        return result  # the file has another title: this heading is a real section
    if all(b.path[:1] == (top,) for b in blocks):
        for b in blocks:
            b.path = b.path[1:]
            regroup(b)
        result.title = result.title or top
    return result
