"""The common output of every document parser: ordered blocks under a heading path.

A parser turns cleaned text into `Block`s; `render` lays them out as the readable document
(the text a user opens from a citation) so each block's text is a verbatim span of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_TERMINAL = tuple('.?!:”"’)…')


@dataclass
class Block:
    path: tuple[str, ...]
    text: str
    kind: str = "narrative"
    tension: str | None = None
    side: str | None = None
    pages: str | None = None
    # Structured record when the block is a district example (see ingest.whitepaper).
    example: dict[str, Any] | None = None
    # Blocks in the same group may be merged into one chunk when small.
    group: str | None = None


@dataclass
class ParsedDocument:
    doc_id: str
    title: str
    blocks: list[Block]
    text: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


def paragraphs(text: str) -> list[str]:
    """Split on blank lines; join a paragraph broken mid-sentence (next starts lower-case)."""
    paras: list[str] = []
    for raw in text.split("\n\n"):
        para = "\n".join(line.rstrip() for line in raw.split("\n")).strip("\n")
        if not para.strip():
            continue
        if (
            paras
            and paras[-1]
            and not paras[-1].rstrip().endswith(_TERMINAL)
            and para.lstrip()[:1].islower()
        ):
            paras[-1] = paras[-1].rstrip() + " " + para.strip()
        else:
            paras.append(para.strip(" "))
    return paras


def render(doc: ParsedDocument) -> str:
    """Lay blocks out under their headings; headings print once, when the path changes."""
    out: list[str] = []
    current: tuple[str, ...] = ()
    for block in doc.blocks:
        if block.path != current:
            common = 0
            while (
                common < min(len(block.path), len(current))
                and block.path[common] == current[common]
            ):
                common += 1
            for depth in range(common, len(block.path)):
                out.append("#" * min(depth + 1, 6) + " " + block.path[depth])
            current = block.path
        out.append(block.text)
    doc.text = "\n\n".join(out) + "\n"
    return doc.text
