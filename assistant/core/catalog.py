"""The framework as data: filters over the catalog that `lbw ingest` builds
(ingest/catalog.py), shared by the Assistant, the CLI (which answers `lbw examples/survey/
questions` without loading the model) and the app. Pure: the live build is read by
`assistant.storage.builds.open_live`.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from assistant.core.domain import TENSION_BY_ID, find_systems
from assistant.core.errors import LbwError

SIDES = ("a", "b", "combine")


# The records, typed. They stay JSON-shaped dicts (the build stores them as JSON and the
# CLI prints them as such); the types say which keys each record has.
class Example(TypedDict):
    """One district example: a strategy on one side of a tension, told by a leader."""

    id: str
    tension: str
    side: str  # "a" | "b" | "combine"
    title: str
    system: str  # as the paper writes it
    state: str | None
    systems: list[str]  # canonical names of every system it is about
    leader: str
    role: str | None
    leader_system: str | None
    quote: str
    text: str
    pages: str
    doc_id: str
    passage_id: str


class Benefit(TypedDict):
    tension: str
    side: str
    pole: str
    summary: str
    teacher: str
    school_leader: str
    district: str
    passage_id: str


class Lesson(TypedDict):
    tension: str
    text: str
    passage_id: str


class Question(TypedDict):
    tension: str | None  # None for the two reflection guides
    text: str
    source: str
    category: str | None
    passage_id: str


class Finding(TypedDict):
    """The leaders survey on one tension: figures, patterns, and the sentences they come from."""

    tension: str
    n: int
    median: int
    mean: float
    lean_a: float | None
    lean_b: float | None
    top_priority: float | None
    devoted_resources: float | None
    patterns: list[str]
    pattern_passage_ids: list[str]
    notes: list[str]
    sources: dict[str, dict[str, Any]]  # figure -> {"text", "passage_id"}
    passage_id: str
    passage_ids: list[str]
    scale: NotRequired[dict[str, Any]]
    devoted_resources_readings: NotRequired[list[float]]


class Spectrum(TypedDict):
    tension: str
    label: str
    ends: str
    passage_id: str


class Catalog(TypedDict, total=False):
    examples: list[Example]
    benefits: list[Benefit]
    lessons: list[Lesson]
    questions: list[Question]
    findings: list[Finding]
    spectrums: list[Spectrum]


class InvalidFilter(LbwError):
    exit_code = 2


def check_tension(tension: str | None) -> None:
    if tension and tension not in TENSION_BY_ID:
        raise InvalidFilter(f"Unknown tension {tension!r}; use one of: {', '.join(TENSION_BY_ID)}.")


def examples(
    catalog: Catalog,
    tension: str | None = None,
    side: str | None = None,
    system: str | None = None,
) -> list[Example]:
    """District examples of one tension, side or system (any spelling the library knows:
    "CPS", "Fulton", "Dallas ISD"; else a case-insensitive part of the name as written)."""
    check_tension(tension)
    if side and side not in SIDES:
        raise InvalidFilter(f"Unknown side {side!r}; use a, b or combine.")
    wanted = set(find_systems(system)) if system else set()
    out = []
    for record in catalog.get("examples", []):
        if tension and record["tension"] != tension:
            continue
        if side and record["side"] != side:
            continue
        if system:
            names = set(record.get("systems") or [])
            written = (record.get("system") or "").lower()
            if not (names & wanted or (not wanted and system.lower() in written)):
                continue
        out.append(record)
    return out


def findings(catalog: Catalog, tension: str | None = None) -> list[Finding]:
    check_tension(tension)
    return [f for f in catalog.get("findings", []) if not tension or f["tension"] == tension]


def questions(catalog: Catalog, tension: str | None = None) -> list[Question]:
    """A tension's reflection questions, or (no tension) every question in the paper."""
    check_tension(tension)
    return [q for q in catalog.get("questions", []) if not tension or q["tension"] == tension]


def public_example(record: Example) -> dict[str, Any]:
    """The `lbw examples --json` shape (GUIDE §4 extension in issue 3), plus `systems`."""
    keys = (
        "id",
        "tension",
        "side",
        "title",
        "system",
        "state",
        "leader",
        "role",
        "quote",
        "text",
        "pages",
        "passage_id",
        "systems",
    )
    return {k: record.get(k) for k in keys}


def public_finding(record: Finding) -> dict[str, Any]:
    keys = (
        "tension",
        "n",
        "median",
        "mean",
        "lean_a",
        "lean_b",
        "top_priority",
        "devoted_resources",
        "patterns",
        "pattern_passage_ids",
        "scale",
        "notes",
        "passage_id",
        "passage_ids",
        "sources",
        "devoted_resources_readings",
    )
    optional = ("devoted_resources_readings", "scale")
    return {k: record.get(k) for k in keys if k in record or k not in optional}


def public_question(record: Question) -> dict[str, Any]:
    return {k: record.get(k) for k in ("tension", "text", "source", "category", "passage_id")}
