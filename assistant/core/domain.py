"""The seven tensions and the school systems the library names: ids, labels and the words
leaders use for them. Shared by ingest (tagging chunks) and retrieval (reading questions)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Tension:
    id: str
    number: int
    question: str
    pole_a: str
    pole_b: str
    aliases: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.pole_a} vs. {self.pole_b}"

    @property
    def numbered(self) -> str:
        """'1. Centralized vs. Decentralized'."""
        return f"{self.number}. {self.label}"

    def side_label(self, side: str) -> str:
        return {"a": self.pole_a, "b": self.pole_b, "combine": "Combining both"}.get(side, side)


TENSIONS: tuple[Tension, ...] = (
    Tension(
        "locus-of-control",
        1,
        "What should the district hold tight vs. loose?",
        "Centralized",
        "Decentralized",
        (
            "tight vs loose",
            "tight versus loose",
            "hold tight",
            "tight or loose",
            "centraliz",
            "decentraliz",
            "locus of control",
            "central office control",
            "school autonomy",
            "top-down or bottom-up implementation",
            "centralis",
            "decentralis",
        ),
    ),
    Tension(
        "pace",
        2,
        "How fast should we be moving from pilot to scale?",
        "Fast and Furious",
        "Slow and Steady",
        (
            "fast and furious",
            "slow and steady",
            "how fast",
            "pace",
            "speed",
            "go slow",
            "too fast",
            "too slow",
            "pilot to scale",
            "rollout speed",
            "roll out quickly",
            "deliberate",
            "momentum",
            "urgency",
            "timeline",
        ),
    ),
    Tension(
        "resource-allocation",
        3,
        "How do we decide where to pilot and how to allocate resources?",
        "Prioritize Need",
        "Prioritize Readiness",
        (
            "need vs readiness",
            "need versus readiness",
            "need or readiness",
            "readiness",
            "prioritize need",
            "prioritise need",
            "where to pilot",
            "which schools",
            "allocate",
            "allocation",
            "pick which schools",
            "greatest need",
            "most need",
            "highest need",
            "help first",
            "go first",
            "eager",
            "who gets support",
            "resource allocation",
        ),
    ),
    Tension(
        "cultivating-capacity",
        4,
        "How should we develop our talent and resource pipeline?",
        "Buy/Partner Externally",
        "Build Internally",
        (
            "build vs buy",
            "buy vs build",
            "build or buy",
            "buy or build",
            "build internally",
            "buy externally",
            "partner externally",
            "outside partner",
            "external partner",
            "vendor",
            "consultant",
            "in-house",
            "talent pipeline",
            "pipeline",
            "capacity",
            "partnership",
            "partner with",
            "outside provider",
            "outside help",
            "outside expert",
            "external support",
            "external provider",
            "outsourc",
        ),
    ),
    Tension(
        "strategic-flexibility",
        5,
        "How flexible should our district strategy be over time?",
        "Fixed Strategy",
        "Adapt with Experience",
        (
            "fixed strategy",
            "adapt with experience",
            "adaptive strategy",
            "flexible strategy",
            "flexibility",
            "flexible",
            "change course",
            "course correct",
            "stick to the plan",
            "adapt",
            "mandate",
            "multi-year plan",
            "strategic plan",
        ),
    ),
    Tension(
        "comprehensiveness",
        6,
        "Comprehensive model or modular tools?",
        "Prix Fixe",
        "A la Carte",
        (
            "prix fixe",
            "a la carte",
            "à la carte",
            "comprehensive model",
            "modular",
            "menu of",
            "whole model",
            "package deal",
            "one model",
            "cohort model",
            "tool belt",
            "whole-school model",
        ),
    ),
    Tension(
        "sharing-learning",
        7,
        "What should practitioners catalogue and share?",
        "Share Best Practices",
        "Share Process/Failures",
        (
            "best practice",
            "failure",
            "failures",
            "share process",
            "sharing process",
            "learn from one another",
            "learn from each other",
            "what to share",
            "catalog",
            "mistakes",
            "sharing",
        ),
    ),
)

TENSION_BY_ID = {t.id: t for t in TENSIONS}
TENSION_BY_NUMBER = {t.number: t for t in TENSIONS}


@dataclass(frozen=True)
class System:
    name: str
    state: str | None
    aliases: tuple[str, ...]


# Every school system (district, network or school) the white paper names in an example.
SYSTEMS: tuple[System, ...] = (
    System("Alliance for Catholic Education", None, ("Alliance for Catholic Education", "ACE")),
    System("Chicago Public Schools", "IL", ("Chicago Public Schools", "Chicago", "CPS")),
    System("Middletown", "NY", ("Middletown",)),
    System(
        "Dallas ISD", "TX", ("Dallas ISD", "Dallas Independent School District", "Dallas", "DISD")
    ),
    System("Oakland Unified School District", "CA", ("Oakland Unified", "Oakland", "OUSD")),
    System("Leadership Public Schools", "CA", ("Leadership Public Schools", "LPS")),
    System("Somerville Public Schools", "MA", ("Somerville",)),
    System(
        "DC Public Schools",
        "DC",
        ("DC Public Schools", "District of Columbia Public Schools", "DCPS", "D.C. Public Schools"),
    ),
    System("Greeley-Evans School District 6", "CO", ("Greeley-Evans", "Greeley Evans", "Greeley")),
    System(
        "Los Angeles Unified School District",
        "CA",
        ("Los Angeles Unified", "Los Angeles USD", "Los Angeles", "LAUSD", "LA Unified"),
    ),
    System("Baltimore County Public Schools", "MD", ("Baltimore County", "BCPS", "Baltimore")),
    System("Gwinnett County Public Schools", "GA", ("Gwinnett",)),
    System("Mesa Valley 51", "CO", ("Mesa Valley", "District 51", "D51", "Mesa")),
    System("Henry County Schools", "GA", ("Henry County", "Henry")),
    System("Fulton County Schools", "GA", ("Fulton County", "Fulton")),
    System(
        "Colorado Springs School District 11",
        "CO",
        ("Colorado Springs", "District 11", "D11", "Trailblazer"),
    ),
    System("Roots Elementary", "CO", ("Roots Elementary", "Roots")),
    System("Matchbook Learning", None, ("Matchbook",)),
)
SYSTEM_BY_NAME = {s.name: s for s in SYSTEMS}

_CASE_SENSITIVE = {"Roots", "Mesa", "Henry", "Greeley"}
_ALIAS_PATTERNS: list[tuple[re.Pattern[str], str]] = []
_WORDISH = re.compile(r"[\w-]")


def _alias_patterns() -> list[tuple[re.Pattern[str], str]]:
    """Each alias, longest first, not followed by a word character or hyphen. Not being
    preceded by one is checked in `_first_mention`: a pattern that opened with that
    lookbehind could not be scanned for by its first letters, and was five times slower."""
    if not _ALIAS_PATTERNS:
        pairs = [(alias, s.name) for s in SYSTEMS for alias in s.aliases]
        pairs.sort(key=lambda p: -len(p[0]))  # longest alias first
        for alias, name in pairs:
            # Short forms (CPS, ACE) and ordinary words (Roots, Mesa) match only as written.
            flags = 0 if alias.isupper() or alias in _CASE_SENSITIVE else re.IGNORECASE
            _ALIAS_PATTERNS.append((re.compile(rf"{re.escape(alias)}(?![\w-])", flags), name))
    return _ALIAS_PATTERNS


def _first_mention(pattern: re.Pattern[str], text: str) -> int | None:
    """Where `pattern` first matches in `text` not preceded by a word character or hyphen
    (what a lookbehind would check), or None."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        start = m.start()
        if start == 0 or _WORDISH.match(text, start - 1) is None:
            return start
        pos = start + 1
    return None


def find_systems(text: str) -> list[str]:
    """Canonical names of the systems mentioned in `text`, in order of first mention."""
    found: dict[str, int] = {}
    for pattern, name in _alias_patterns():
        start = _first_mention(pattern, text)
        if start is not None and (name not in found or start < found[name]):
            found[name] = start
    return sorted(found, key=found.get)


def tension_scores(text: str) -> dict[str, int]:
    """How strongly `text` names each tension: one per alias found, two per pole name."""
    low = text.lower()
    scores: dict[str, int] = {}
    for t in TENSIONS:
        hits = sum(1 for a in t.aliases if a in low)
        hits += 2 * sum(1 for p in (t.pole_a, t.pole_b) if p.lower() in low)
        if hits:
            scores[t.id] = hits
    return scores


def rank_tensions(scores: dict[str, int]) -> list[str]:
    """Tension ids strongest (most matches) first; ties keep the paper's order."""
    return sorted(scores, key=lambda k: -scores[k])


def find_tensions(text: str) -> list[str]:
    """Tension ids whose poles or aliases occur in `text`, strongest (most matches) first."""
    return rank_tensions(tension_scores(text))
