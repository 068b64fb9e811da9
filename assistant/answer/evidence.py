"""Sentence-level evidence: which sentences of the retrieved passages speak to the question.

Each sentence is read with its neighbours and its passage's context (heading, the systems it
is about), as a reader would read it, and scored by how much of the question's rarer words it
covers. The scope decision reads these windows; the offline composer quotes from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.core.domain import SYSTEM_BY_NAME
from assistant.core.safety import drop_instruction_lines
from assistant.core.text import TermStats, split_sentences, terms
from assistant.core.types import Chunk

# Attributes a question can ask for that the library must state explicitly to answer.
ATTRIBUTES = re.compile(
    r"\b(cost\w*|price\w*|pay|paid|spend\w*|spent|salar\w*|tuition|budget\w*|fee\w*|licen[cs]\w*|"
    r"scores?|graduation|rates?|test results?|salary|dollars?|\$)\b",
    re.IGNORECASE,
)


@dataclass
class Window:
    chunk_id: str
    sentence: str
    coverage: float
    has_attribute: bool
    has_number: bool


def best_windows(
    question: str, passages: list[tuple[str, str, str]], stats: TermStats, top: int = 5
) -> list[Window]:
    """Score every sentence of the passages against the question.

    Each sentence is read with its neighbours and with its passage's context (`extra`: the
    heading and the names of the systems it is about), as a reader would read it.
    """
    q_terms = set(terms(question, drop_generic=True))
    if not q_terms:
        q_terms = set(terms(question))
    weights = {t: stats.idf(t) for t in q_terms}
    total = sum(weights.values()) or 1.0
    asked_attr = bool(ATTRIBUTES.search(question))
    windows: list[Window] = []
    for chunk_id, text, extra in passages[:top]:
        sentences = split_sentences(text)
        stems = [set(terms(s)) for s in sentences]
        shared = set(terms(extra))
        for i, sentence in enumerate(sentences):
            context = (
                stems[i]
                | (stems[i - 1] if i else set())
                | (stems[i + 1] if i + 1 < len(stems) else set())
            )
            context |= shared
            covered = sum(w for t, w in weights.items() if t in context)
            near = " ".join(sentences[max(0, i - 1) : i + 2])
            windows.append(
                Window(
                    chunk_id,
                    sentence,
                    covered / total,
                    bool(ATTRIBUTES.search(near)) if asked_attr else True,
                    bool(re.search(r"\d", near)),
                )
            )
    windows.sort(key=lambda w: -w.coverage)
    return windows


def reading(chunk: Chunk) -> tuple[str, str, str]:
    """A passage as the sentence picker reads it: (id, text, context). Lines addressed to a
    language model ("ignore previous instructions ...", assistant.core.safety) are never
    quoted as an answer."""
    names = [
        a
        for name in chunk.systems
        for a in (SYSTEM_BY_NAME[name].aliases if name in SYSTEM_BY_NAME else (name,))
    ]
    text = drop_instruction_lines(chunk.text)
    return chunk.id, text, " ".join([chunk.section.rsplit(" > ", 1)[-1], *names])
