"""What a question asks, read from its form, never from its topic, so the rules hold for any
question:
- parts: each question of a multi-part question gets its own best passage; the parts are
  the plan's (QueryPlan.parts, read once by assistant.retrieval.reading);
- told: the asking sentences of a question told with its situation ("We bought laptops.
  What went wrong?"), which choose the passages more than the story does;
- a number: "how many", "what share", "%", a rate: a passage that gives a figure is preferred
  (guards against showing the median to a question about a share);
- others: "has anybody done that?", "how did other districts ...", "which systems ...": the
  answer is the district examples, as cards.
"""

from __future__ import annotations

import re

from assistant.retrieval.reading import _ASKS, _SENTENCE  # one reading of questions

NUMBER = re.compile(
    r"\b(?:how (?:many|much|long|big|large|often)|what (?:percent\w*|share|fraction|proportion|"
    r"number|ratio)|percent\w*|numbers?|figures?|statistic\w*|median|average|ratio|rate)\b|%",
    re.IGNORECASE,
)
OTHERS = re.compile(
    r"\b(?:other (?:districts?|systems?|schools?|leaders?|networks?)|others|any(?:body|one)|"
    r"any (?:\w+ )?(?:districts?|systems?|networks?|examples?)|has (?:any|some)\w*|"
    r"who (?:has|have|did)|which (?:districts?|systems?|schools?|networks?)|"
    r"(?:districts?|systems?) (?:that|who)|examples?|how (?:did |do |have )?(?:other |big |small |"
    r"large |rural |urban )?(?:districts|systems|leaders|networks|others)\b|actually done|"
    r"(?:done|tried) (?:this|that|it))\b",
    re.IGNORECASE,
)


def _sentences(question: str) -> tuple[list[str], list[str]]:
    """The question's sentences, and those of them that ask something (not tell)."""
    sentences = [s.strip() for s in _SENTENCE.split(question) if s.strip()]
    return sentences, [s for s in sentences if s.endswith("?") or _ASKS.match(s)]


def asking(question: str) -> str | None:
    """The sentences of a question that ask, when there is a situation told around them
    ("We bought laptops. What went wrong?"); else None."""
    sentences, asked = _sentences(question)
    text = " ".join(asked)
    if not asked or len(asked) == len(sentences) or len(text.split()) < 3:
        return None
    return text
