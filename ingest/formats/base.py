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
    """The current heading path; a heading at level n replaces levels n and deeper."""

    def __init__(self) -> None:
        self._levels: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        self._levels = [(lv, t) for lv, t in self._levels if lv < level]
        self._levels.append((level, title))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self._levels)

    def block(self, text: str, kind: str = "narrative", pages: str | None = None) -> Block:
        """A block under the current path; narrative under one heading may share a chunk."""
        group = "/".join(self.path) or "body"
        if pages:
            group += f"@{pages}"  # never pack passages from different pages into one chunk
        return Block(
            self.path, text, kind=kind, pages=pages, group=group if kind == "narrative" else None
        )


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
