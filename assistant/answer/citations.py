"""Numbering sources: the one numberer behind every [n] the product prints (answers,
discussion prompts, the meeting guide, the survey chart's notes).

Passages are numbered in order of first use, and only passages actually cited are listed.
"""

from __future__ import annotations

from assistant.core.types import Chunk, Citation


class Citations:
    def __init__(self):
        self.items: list[Citation] = []
        self._n: dict[str, int] = {}

    def number(self, chunk: Chunk) -> int:
        """The passage's number, giving it the next one on first use."""
        if chunk.id not in self._n:
            n = len(self.items) + 1
            self._n[chunk.id] = n
            self.items.append(
                Citation(
                    n, chunk.id, chunk.doc_id, chunk.title, chunk.section, chunk.text, chunk.pages
                )
            )
        return self._n[chunk.id]

    def cite(self, chunk: Chunk) -> str:
        """The passage's marker, "[n]"."""
        return f"[{self.number(chunk)}]"
