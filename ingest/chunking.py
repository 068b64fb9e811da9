"""Blocks -> chunks: self-contained passages that keep their heading path.

Examples, benefit tables, lessons and reflection lists stay whole (one chunk each); runs of
narrative paragraphs under one heading are packed up to a word budget so that a chunk is
neither a bare heading nor a page-long blob that the 256-token encoder would truncate.
Ids hash the content, so an unchanged passage keeps its id (and its stored embedding).
"""

from __future__ import annotations

import hashlib
import re

from assistant.core.domain import find_systems
from assistant.core.safety import instruction_like
from assistant.core.types import Chunk
from ingest.blocks import Block, ParsedDocument

TARGET_WORDS = 150
MAX_WORDS = 230
_SENTENCE = re.compile(r"(?<=[.!?”])\s+(?=[“A-Z0-9])")


def chunk_id(doc_id: str, title: str, section: str, text: str) -> str:
    """Content-derived id: the same passage under the same headings keeps its id (and vector)."""
    return hashlib.sha256(f"{doc_id}\x1f{title}\x1f{section}\x1f{text}".encode()).hexdigest()[:20]


def _words(text: str) -> int:
    return len(text.split())


def _split_long(text: str) -> list[str]:
    """Split an over-long paragraph at sentence ends into pieces under MAX_WORDS.

    A paragraph that directs the reader's assistant (assistant.core.safety) stays whole: it
    is withheld line by line, and a claim split off into a piece of its own would escape.
    """
    if _words(text) <= MAX_WORDS or instruction_like(text):
        return [text]
    pieces, current = [], ""
    for sentence in _sentences(text):
        if current and _words(current) + _words(sentence) > TARGET_WORDS:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


def _sentences(text: str) -> list[str]:
    """The paragraph's sentences; one longer than MAX_WORDS (text that never ends a sentence,
    such as a PDF's table of figures) is cut into runs of TARGET_WORDS words, so no passage
    outgrows what the embedder reads."""
    out = []
    for sentence in _SENTENCE.split(text):
        words = sentence.split()
        if len(words) <= MAX_WORDS:
            out.append(sentence)
            continue
        out += [" ".join(words[i : i + TARGET_WORDS]) for i in range(0, len(words), TARGET_WORDS)]
    return out


def _groups(blocks: list[Block]) -> list[list[Block]]:
    """Consecutive blocks that may share a chunk (same group and path)."""
    runs: list[list[Block]] = []
    for block in blocks:
        if (
            runs
            and block.group
            and runs[-1][-1].group == block.group
            and runs[-1][-1].path == block.path
        ):
            runs[-1].append(block)
        else:
            runs.append([block])
    return runs


def merge_pages(labels: list[str | None]) -> str | None:
    """The pages a chunk spans, from the pages of the blocks packed into it.

    Equal labels stay as they are ("22-23"); numeric ones merge into one range ("2-3");
    anything else (roman numerals mixed with numbers) is listed in order ("iv, 1").
    """
    found = [p for p in dict.fromkeys(labels) if p]
    if len(found) <= 1:
        return found[0] if found else None
    numbers = []
    for label in found:
        parts = label.replace("–", "-").split("-")
        if not all(part.strip().isdigit() for part in parts):
            return ", ".join(found)
        numbers += [int(part) for part in parts]
    low, high = min(numbers), max(numbers)
    return str(low) if low == high else f"{low}-{high}"


def chunk_document(doc: ParsedDocument) -> list[Chunk]:
    chunks: list[Chunk] = []
    for run in _groups(doc.blocks):
        # (piece, starts_paragraph, pages): sentence pieces of one paragraph rejoin with a
        # space, paragraphs with a blank line, exactly as render() lays the document out.
        pieces: list[tuple[str, bool, str | None]] = []
        for block in run:
            parts = _split_long(block.text) if block.kind == "narrative" else [block.text]
            pieces.extend((part, k == 0, block.pages) for k, part in enumerate(parts))
        packs: list[tuple[str, list[str | None]]] = []
        for text, new_para, pages in pieces:
            if packs and _words(packs[-1][0]) + _words(text) <= TARGET_WORDS:
                packs[-1] = (packs[-1][0] + ("\n\n" if new_para else " ") + text, packs[-1][1])
                packs[-1][1].append(pages)
            else:
                packs.append((text, [pages]))
        first = run[0]
        section = " > ".join(first.path)
        for text, pages in packs:
            chunks.append(
                Chunk(
                    id=chunk_id(doc.doc_id, doc.title, section, text),
                    doc_id=doc.doc_id,
                    title=doc.title,
                    section=section,
                    text=text,
                    kind=first.kind,
                    tension=first.tension,
                    side=first.side,
                    pages=merge_pages(pages),
                    systems=tuple(find_systems(text)),
                    order=len(chunks),
                )
            )
    return chunks
