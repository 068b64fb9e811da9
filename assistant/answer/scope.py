"""Does the library answer the question? The scope decision, its own step between
retrieval and composing.

Two checks need no retrieval: a request to pick a product (the library never rates one) and
a name the library never mentions. After retrieval, a question counts as answered only when
one passage window covers most of what it asks about, weighted by how rare each word is in
the library, and, when it asks for a price, a rate or a quantity, when that window contains
one. Dense similarity alone cannot tell "what did Fulton do?" from "how much did Fulton's
scores rise?".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from assistant.answer.evidence import ATTRIBUTES, Window, best_windows, reading
from assistant.core.text import STOP, TermStats, terms
from assistant.core.types import Answer
from assistant.retrieval.library import LoadedIndex, Retrieved
from assistant.retrieval.query import QueryPlan

ANSWERED = "answered"
PARTIAL = "partial"
NOT_IN_LIBRARY = "not_in_library"

NOT_IN_LIBRARY_TEXT = (
    "The library does not answer this question. Its documents cover how school-system leaders "
    "scale blended and personalized learning: the seven Look Both Ways tensions, the district "
    "examples, the leaders survey and the reflection guides, plus four related articles. "
    "Try asking about one of those, for example “How did districts handle need vs. readiness?”"
)

NO_PRODUCT_PICKS = (
    "The library does not rate or recommend products or vendors, so it cannot say which one "
    "to choose. It does describe how districts decided what to build themselves and what to "
    "buy or partner for; ask, for example, “How did districts decide whether to build "
    "internally or buy externally?”"
)


@dataclass
class ScopeDecision:
    """Whether the library answers the question, and the sentence windows it was judged on
    (the offline composer quotes from the same windows)."""

    outcome: str  # ANSWERED | PARTIAL | NOT_IN_LIBRARY
    message: str = ""  # what a refusal says
    windows: list[Window] = field(default_factory=list)
    # PARTIAL: one sentence naming what the library does not cover ("The library does not
    # rank the seven tensions by difficulty."); the answer opens with it.
    missing: str = ""

    @property
    def in_scope(self) -> bool:
        return self.outcome != NOT_IN_LIBRARY

    def refusal(self, plan: QueryPlan) -> Answer:
        return Answer(plan.question, self.message, False, [], "offline")


def precheck(plan: QueryPlan, index: LoadedIndex) -> ScopeDecision | None:
    """Questions the library cannot answer whatever is retrieved: decided before retrieving."""
    if PRODUCT_PICK.search(plan.question):
        return ScopeDecision(NOT_IN_LIBRARY, NO_PRODUCT_PICKS)
    missing = unknown_names(plan.question, index.term_stats, index.known_names)
    if missing:
        names = ", ".join(f"“{m}”" for m in missing)
        return ScopeDecision(
            NOT_IN_LIBRARY, f"The library never mentions {names}. {NOT_IN_LIBRARY_TEXT}"
        )
    return None


def decide(found: Retrieved, index: LoadedIndex) -> ScopeDecision:
    """Read the retrieved passages sentence by sentence and decide."""
    plan = found.plan
    coverage_text = plan.question + (" " + " ".join(plan.systems) if plan.followup else "")
    windows = best_windows(
        coverage_text, [reading(s.chunk) for s in found.chosen], index.term_stats
    )
    top_dense = max((s.dense for s in found.ranked[:3]), default=0.0)
    named_tension = (
        plan.intent == "tension" and bool(plan.tensions) and not ATTRIBUTES.search(plan.question)
    )
    if not found.chosen or not (
        named_tension or library_answers(coverage_text, windows, top_dense)
    ):
        return ScopeDecision(NOT_IN_LIBRARY, NOT_IN_LIBRARY_TEXT, windows)
    return ScopeDecision(ANSWERED, "", windows)


# "Which LMS vendor should we buy?": the library describes how districts chose partners, but
# it never rates or recommends a product, so such a question is not one it answers.
PRODUCT = r"(?:vendors?|products?|platforms?|LMS|software|apps?|brands?)"
PRODUCT_PICK = re.compile(
    rf"\b(?:which|what)\b[^?.]{{0,40}}\b{PRODUCT}\b[^?.]{{0,40}}\b(?:should|to (?:buy|choose|pick|"
    rf"use|purchase)|is (?:the )?best|do you recommend)\b|\b(?:best|recommend\w*|top-rated)\b"
    rf"[^?.]{{0,30}}\b{PRODUCT}\b",
    re.IGNORECASE,
)


_NAME = re.compile(r"(?<![\w’'-])(?:[A-Z]{2,}s?|[A-Z][a-z]+(?:[A-Z][a-z]+)*)(?![\w’'-])")


def unknown_names(question: str, stats: TermStats, known: Iterable[str] = ()) -> list[str]:
    """Names and acronyms in the question that occur nowhere in the library.

    "Which LMS vendor…", "What does an Edgenuity licence cost…", "What did Denver do?": when
    the thing asked about is absent from every passage, no passage can answer for it. Only
    capitalised words after the first word, and acronyms, count; everyday words a leader
    uses in a paraphrase ("downtown", "cop-out") never do.
    """
    known_low = {k.lower() for k in known}
    first = re.match(r"\W*\w+", question)
    start = first.end() if first else 0
    found = []
    for m in _NAME.finditer(question):
        word = m.group(0)
        if m.start() < start and not word.isupper():
            continue
        low = word.lower()
        if low in STOP or low in known_low or any(low in k.split() for k in known_low):
            continue
        stems = terms(word)
        if stems and all(stats.df.get(t, 0) == 0 for t in stems):
            found.append(word)
    return found


def library_answers(question: str, windows: list[Window], top_dense: float) -> bool:
    """Decide whether the retrieved passages answer the question (see module docstring)."""
    if not windows:
        return False
    if ATTRIBUTES.search(question):
        # A price, a rate, a score: only a passage that states one (a number) answers it.
        return any(w.has_attribute and w.has_number and w.coverage >= 0.5 for w in windows)
    return top_dense >= 0.30 or windows[0].coverage >= 0.5
