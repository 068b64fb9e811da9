"""Structure for plain documents (blog posts, articles): headings and paragraphs.

Plain text carries no markup, so a heading is recognised by shape: a short line that does
not end like a sentence and is followed by body text. Markdown `#` headings are honoured.
"""

from __future__ import annotations

import re

from ingest.blocks import Block, ParsedDocument

_TERMINAL = tuple('.?!:;,”"’)…')
BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")


def _lines(text: str) -> list[str]:
    """Non-empty lines, re-joining hard-wrapped sentences (next line starts lower-case)."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            out.append("")
            continue
        if (
            out
            and out[-1]
            and not out[-1].endswith(_TERMINAL)
            and line[:1].islower()
            and not BULLET.match(line)
        ):
            out[-1] = out[-1] + " " + line
        else:
            out.append(line)
    return [line for line in out if line]


def is_heading(line: str, next_line: str | None) -> bool:
    if MD_HEADING.match(line):
        return True
    if BULLET.match(line) or next_line is None:
        return False
    words = line.split()
    if not (1 <= len(words) <= 14) or len(line) > 110:
        return False
    if line.lower().startswith("by ") or line.endswith((".", ",", ";", ":", "…")):
        return False
    return not line.startswith(("“", '"', "(")) and line[:1].isupper()


def parse_generic(doc_id: str, title: str, text: str) -> ParsedDocument:
    """Blocks under the last heading read. A heading-shaped line followed by another one
    heads nothing: it is kept as text where it stands (a memo's opening lines, "Riverbend
    Unified" / "Board work session" / "Presented by Superintendent Vega, April 8", are all
    heading-shaped, and only the last of them has text under it)."""
    lines = _lines(text)
    blocks: list[Block] = []
    heading: str | None = None
    pending: str | None = None  # a heading with no text under it yet

    def add(line: str) -> None:
        path = (heading,) if heading else ()
        blocks.append(Block(path, line, group="/".join(path) or "body"))

    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if is_heading(line, nxt):
            if pending is not None:
                add(pending)
            m = MD_HEADING.match(line)
            pending = m.group(2) if m else line
            continue
        if pending is not None:
            heading, pending = pending, None
        add(line)
    return ParsedDocument(doc_id, title, blocks)
