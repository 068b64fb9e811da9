"""What a question calls for: its parts, and the kind of evidence each wants.

Read from the question's form, never from its topic, so the rules hold for any question:
- parts: each question of a multi-part question ("How long does it take, and how do I make
  it last?"): its sentences that ask something, split again at "and how/what/did ...";
  statements around them ("We have 90 schools.") are context, not parts;
- a number: "how many", "what share", "%", "how long", a price or a rate;
- others: "has anybody done that?", "how did other districts ...", "which systems ...";
- X without Y: "how do we get buy-in without forcing it?" (Y is what the examples must not
  argue for);
- a list: "what are the seven tensions?", "what were the big trends?", and how many items
  it counts (a counted list is shown whole);
- told: the asking sentences of a question told with its situation ("We bought laptops.
  What went wrong?"), which choose the sentences of the answer more than the story does;
- the school systems it names (a follow-up's are carried over by the planner).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer.evidence import ATTRIBUTES
from assistant.core.text import terms
from assistant.retrieval.query import QueryPlan

_ASKS = re.compile(
    r"^(?:how|what|what's|whats|which|who|whom|whose|why|when|where|whether|is|are|am|was|were|"
    r"do|does|did|can|could|should|would|will|has|have|had|any|anything|tell|give|show|list|"
    r"explain|describe|walk)\b",
    re.IGNORECASE,
)
_AND_ASKS = re.compile(
    r"(?:,\s*|\s+)(?:and|or|plus)\s+(?=(?:how|what|which|who|why|when|where|whether|did|do|"
    r"does|is|are|am|was|were|can|could|should|would|will|has|have)\b)",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<!\bvs\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<=[.?!])\s+|\n+")
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
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# "What are the seven tensions?", "what were the big trends", "list the areas of change".
LIST = re.compile(
    r"\b(?:what|which) (?:are|were) (?:all )?(?:the |their |its |those |these )?(?:\w+ ){0,2}?"
    rf"(?:\d+|{'|'.join(NUMBER_WORDS)}|key|main|big|major|biggest)\b|"
    r"\blist (?:the|all)\b|\b(?:give|show) me (?:a|the) list\b|\bname (?:the|all)\b",
    re.IGNORECASE,
)
WITHOUT = re.compile(r"\b(?:without|but not|while avoiding|rather than)\b", re.IGNORECASE)


@dataclass
class Asked:
    """The question read for composing (see the module docstring)."""

    question: str
    parts: list[str]
    number: bool = False
    others: bool = False
    without: tuple[str, str] | None = None  # (X, Y)
    systems: list[str] = field(default_factory=list)
    followup: bool = False
    listing: bool = False  # asks for the items of a list ("what are the seven tensions?")
    count: int | None = None  # how many items it counts ("the seven tensions"), if any
    # A one-part question told with its situation: its asking sentences (see `asking`).
    told: str | None = None

    @property
    def multi(self) -> bool:
        return len(self.parts) > 1


def read(plan: QueryPlan) -> Asked:
    question = plan.question
    parts = split_parts(question)
    return Asked(
        question,
        parts,
        bool(NUMBER.search(question) or ATTRIBUTES.search(question)) or plan.intent == "survey",
        bool(OTHERS.search(question)),
        without(question),
        list(plan.systems),
        plan.followup,
        bool(LIST.search(question)),
        count(question),
        asking(question) if len(parts) == 1 else None,
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


def count(question: str) -> int | None:
    """How many items a question counts ("the seven tensions", "3 things"), if it does."""
    for word in re.findall(r"\b(?:\d{1,2}|[a-z]+)\b", question.lower()):
        if word.isdigit() and 2 <= int(word) <= 20:
            return int(word)
        if word in NUMBER_WORDS:
            return NUMBER_WORDS.index(word) + 2
    return None


def split_parts(question: str) -> list[str]:
    """The questions a question asks, in order (the whole question when it asks one)."""
    parts: list[str] = []
    for sentence in _sentences(question)[1]:
        pieces = [p.strip(" ,") for p in _AND_ASKS.split(sentence) if p.strip(" ,")]
        parts += [p for p in pieces if terms(p)]
    return parts if len(parts) > 1 else [question]


def without(question: str) -> tuple[str, str] | None:
    """(what to achieve, what to avoid) for "X without Y", else None."""
    for part in split_parts(question):
        m = WITHOUT.search(part)
        if not m:
            continue
        x, y = part[: m.start()].strip(" ,"), part[m.end() :].strip(" ,?.")
        if len(terms(x, drop_generic=True)) >= 1 and terms(y):
            return x, y
    return None


def asks_others(part: str) -> bool:
    """True for a part that only asks whether others did it ("Has anybody done that?"):
    the district lines answer it."""
    return bool(OTHERS.search(part)) and len(terms(part, drop_generic=True)) < 4


def asks_figure(part: str) -> bool:
    """True when the part asks for a price, rate or other attribute only a figure answers."""
    return bool(ATTRIBUTES.search(part))
