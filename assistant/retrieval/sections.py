"""Passages as a reader needs them: a hit on one chunk of a list or a section returns the
whole section when it is short enough to read at once, else the chunk with its neighbours.

Chunks are small so that search is precise (retrieve small); what an answer quotes and a
leader opens is the section around the hit (return the parent), so a list of trends or the
"Scale Now" items come back whole instead of in part. The expanded passage keeps the first
chunk's kind, tension and systems (a section's chunks share them) and gets an id of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from assistant.core.types import Chunk


def _join(parts: list[Chunk]) -> Chunk:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    pages = [p.pages for p in parts if p.pages]
    return replace(
        first,
        id="+".join(p.id for p in parts),
        text="\n\n".join(p.text for p in parts),
        pages=pages[0] if len(set(pages)) == 1 else (f"{pages[0]}, {pages[-1]}" if pages else None),
        systems=tuple(dict.fromkeys(s for p in parts for s in p.systems)),
    )


def parents(chunks: Iterable[Chunk], max_chars: int) -> dict[str, Chunk]:
    """For every chunk id, the passage to show in its place (the chunk itself when its
    section is one chunk, or `max_chars` is 0)."""
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        last = groups[-1][-1] if groups else None
        if last and last.doc_id == chunk.doc_id and last.section == chunk.section:
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    out: dict[str, Chunk] = {}
    for group in groups:
        if len(group) == 1 or max_chars <= 0:
            out.update((c.id, c) for c in group)
            continue
        if sum(len(c.text) for c in group) <= max_chars:
            whole = _join(group)
            out.update((c.id, whole) for c in group)
            continue
        for i, chunk in enumerate(group):
            window = group[max(0, i - 1) : i + 2]
            if sum(len(c.text) for c in window) > max_chars:
                window = [chunk]
            out[chunk.id] = _join(window)
    return out
