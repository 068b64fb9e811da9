"""Reading a question: what it is about (tension, system, kind of evidence) and, for a
follow-up, what it refers back to. Plain rules over the library's own vocabulary: they are
cheap, predictable and easy to test, and the retriever only uses them as boosts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.core.domain import find_systems, find_tensions, rank_tensions, tension_scores
from assistant.core.errors import InvalidQuestion
from assistant.core.types import Turn
from assistant.retrieval.reading import asks_for, question_parts

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

SURVEY_WORDS = re.compile(
    r"\b(survey\w*|percent\w*|%|how many|share of|proportion|median|mean|average|respondents?|"
    r"statistic\w*|numbers?|data say|rated?|ratings?|top[- ]priority|devot\w+ resources|n\s*=|"
    r"lean(?:s|ed|ing)? (?:toward|towards|to))\b",
    re.IGNORECASE,
)
REFLECTION_WORDS = re.compile(
    r"\b(reflection|reflect|discussion|discuss|prompts?|questions? (?:for|to ask)|ask (?:my|our) "
    r"(?:\w+ )?(?:team|cabinet|board|principals|staff|leaders)|cabinet|conversation starters?|reflection guides?|"
    r"chart(?:ing)? (?:your|our) path|pathway exercise|laying the foundation)\b",
    re.IGNORECASE,
)
LESSON_WORDS = re.compile(r"\b(lessons?|learned|mistakes?|pitfalls?|takeaways?)\b", re.IGNORECASE)
BENEFIT_WORDS = re.compile(
    r"\b(benefits?|pros|advantages?|upsides?|trade-?offs?|at a glance)\b", re.IGNORECASE
)
EXAMPLE_WORDS = re.compile(
    r"\b(examples?|who (?:has|did|is)|which (?:districts?|systems?|schools?|networks?)|other districts|"
    r"others|districts? (?:that|who)|how did|what did|case stud\w+|stor(?:y|ies)|"
    r"how (?:other )?(?:districts|systems|networks|leaders|others))\b",
    re.IGNORECASE,
)
TENSION_WORDS = re.compile(
    r"\b(vs\.?|versus|or|tension|trade-?offs?|balanc\w*|both sides|either)\b", re.IGNORECASE
)
FOLLOWUP_START = re.compile(
    r"^(and|also|what about|how about|but|so|then|same|did (?:they|it|he|she)|do they|were they|"
    r"was (?:it|that)|is (?:it|that)|how did (?:they|it)|why did (?:they|it)|tell me more|more on|"
    r"give me|any)\b",
    re.IGNORECASE,
)
REFERENCE = re.compile(
    r"\b(they|them|their|theirs|that|this|those|these|it|its|he|she|his|her|there|the same|"
    r"that district|this district|that one|the district)\b",
    re.IGNORECASE,
)


@dataclass
class QueryPlan:
    """What retrieval and composition need to know about one question in its conversation."""

    question: str
    search_text: str
    tensions: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    intent: str = "fact"
    followup: bool = False
    previous_question: str | None = None
    doc_ids: list[str] = field(default_factory=list)
    # The last answer shown, so a follow-up's answer does not repeat it.
    previous_answer: str | None = None
    # The one reading of the question (assistant.retrieval.reading), computed once here:
    # its parts (each question of a multi-part question; the whole question when it asks
    # one) and what it asks for ("figure", "list", "district", "ranking").
    parts: list[str] = field(default_factory=list)
    asks: frozenset[str] = frozenset()
    # The unit vector of `search_text` by the index's embedder, set by the first reader
    # (HybridRetriever.query_vector) and reused by scope and the composers.
    vector: np.ndarray | None = field(default=None, repr=False)
    # The unit vectors of its parts when it asks more than one thing (HybridRetriever.
    # part_vectors), embedded once and reused by scope and the composers.
    part_vectors: np.ndarray | None = field(default=None, repr=False)
    # Search queries a language model wrote for the question, fused with its own ranking.
    queries: list[str] = field(default_factory=list)


def find_documents(text: str, documents: dict[str, dict]) -> list[str]:
    """Documents the question names by title or by a manifest alias ("Scale What")."""
    low = text.lower()
    found = []
    for doc_id, doc in documents.items():
        names = [doc.get("title", ""), *(doc.get("aliases") or [])]
        if any(n and n.lower() in low for n in names):
            found.append(doc_id)
    return found


def clean_question(question: str, max_chars: int) -> str:
    """Validate a user's question; the messages are shown to users as they are."""
    if question is None or not str(question).strip():
        raise InvalidQuestion("Please type a question: the question is empty.")
    question = unicodedata.normalize("NFC", str(question))
    bad = _CONTROL.findall(question)
    if bad:
        raise InvalidQuestion(
            f"The question contains {len(bad)} control character(s) (such as U+{ord(bad[0]):04X}); "
            "remove them and ask again."
        )
    question = " ".join(question.split())
    if len(question) > max_chars:
        raise InvalidQuestion(
            f"The question is too long ({len(question):,} characters; the limit is {max_chars:,}). "
            "Ask about one thing at a time."
        )
    return question


# A question this short that names no topic of its own leans on the conversation.
FOLLOWUP_WORDS = 14
# How much of the previous answer a follow-up's search carries (its opening: the subject).
CARRIED_ANSWER_CHARS = 300
_MARKER = re.compile(r"\[\d+\]|[*_#>`]")


def _is_followup(
    question: str, previous: str | None, systems: list[str], own_topic: bool, previous_topic: bool
) -> bool:
    """A question that leans on the previous turn: it starts like a continuation, points back
    ("those areas", "that district"), or is short and names no topic of its own."""
    if previous is None:
        return False
    if systems and not REFERENCE.search(question):
        return False
    words = question.split()
    if FOLLOWUP_START.search(question):
        return True
    if REFERENCE.search(question) and (len(words) <= FOLLOWUP_WORDS or not own_topic):
        return True
    return not own_topic and (previous_topic or len(words) <= FOLLOWUP_WORDS)


def plan_query(
    question: str, history: Sequence[Turn] = (), documents: dict[str, dict] | None = None
) -> QueryPlan:
    """Classify the question and, for a follow-up, carry over what it refers back to.

    `documents` (the index's document table) lets a question that names a document count
    as having a topic of its own, and sets the plan's `doc_ids`.
    """
    scores = tension_scores(question)
    tensions = rank_tensions(scores)
    systems = find_systems(question)
    own_docs = find_documents(question, documents or {})
    previous = next((t.content for t in reversed(history) if t.role == "user"), None)
    answer = next((t.content for t in reversed(history) if t.role == "assistant"), "")
    prev_tensions = find_tensions(previous) if previous else []
    prev_systems = find_systems(previous) if previous else []
    followup = _is_followup(
        question,
        previous,
        systems,
        bool(tensions or systems or own_docs),
        bool(prev_tensions or prev_systems),
    )
    search_text = question
    doc_ids = own_docs
    if followup and previous:
        systems = systems or prev_systems
        if not tensions:
            tensions = prev_tensions
        said = " ".join(_MARKER.sub(" ", answer).split())[:CARRIED_ANSWER_CHARS]
        search_text = f"{previous} {said} {question}" if said else f"{previous} {question}"
        doc_ids = find_documents(search_text, documents or {})

    kinds: list[str] = []
    if SURVEY_WORDS.search(question):
        kinds.append("survey")
    if REFLECTION_WORDS.search(question):
        kinds.append("reflection")
    if LESSON_WORDS.search(question):
        kinds.append("lessons")
    if BENEFIT_WORDS.search(question):
        kinds.append("benefits")
    if EXAMPLE_WORDS.search(question) or systems:
        kinds.append("example")

    if "reflection" in kinds:
        intent = "reflection"
    elif "survey" in kinds:
        intent = "survey"
    elif systems and not tensions:
        intent = "system"
    elif tensions and (
        TENSION_WORDS.search(question)
        or "example" in kinds
        or len(question.split()) <= 8
        # Named twice over ("how fast … from pilot to scale"): the tension's own question.
        or scores.get(tensions[0], 0) >= 2
    ):
        intent = "tension"
    else:
        intent = "fact"
    return QueryPlan(
        question,
        search_text,
        tensions,
        systems,
        kinds,
        intent,
        followup,
        previous,
        doc_ids,
        last_answer(history),
        question_parts(question),
        asks_for(question, find_systems(question)),
    )


def last_answer(history: Sequence[Turn]) -> str | None:
    """The last assistant turn of a conversation, if any."""
    return next((t.content for t in reversed(history) if t.role == "assistant"), None)
