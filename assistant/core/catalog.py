"""The framework as data: filters over the catalog that `lbw ingest` builds
(ingest/catalog.py). Plain functions over plain dicts, shared by the Assistant, the CLI
(which answers `lbw examples/survey/questions` without loading the model) and the app.
"""

from __future__ import annotations

from typing import Any

from assistant.core.domain import TENSION_BY_ID, find_systems
from assistant.core.errors import LbwError
from assistant.core.settings import Settings
from assistant.storage.builds import live_build_path, read_build_json

Catalog = dict[str, list[dict[str, Any]]]
SIDES = ("a", "b", "combine")


class InvalidFilter(LbwError):
    exit_code = 2


def load_catalog(settings: Settings) -> Catalog:
    """The live build's catalog (IndexMissing when there is no index)."""
    return read_build_json(live_build_path(settings), "catalog.json")


def check_tension(tension: str | None) -> None:
    if tension and tension not in TENSION_BY_ID:
        raise InvalidFilter(f"Unknown tension {tension!r}; use one of: {', '.join(TENSION_BY_ID)}.")


def examples(
    catalog: Catalog,
    tension: str | None = None,
    side: str | None = None,
    system: str | None = None,
) -> list[dict[str, Any]]:
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


def findings(catalog: Catalog, tension: str | None = None) -> list[dict[str, Any]]:
    check_tension(tension)
    return [f for f in catalog.get("findings", []) if not tension or f["tension"] == tension]


def questions(catalog: Catalog, tension: str | None = None) -> list[dict[str, Any]]:
    """A tension's reflection questions, or (no tension) every question in the paper."""
    check_tension(tension)
    return [q for q in catalog.get("questions", []) if not tension or q["tension"] == tension]


def public_example(record: dict[str, Any]) -> dict[str, Any]:
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


def public_finding(record: dict[str, Any]) -> dict[str, Any]:
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


def public_question(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("tension", "text", "source", "category", "passage_id")}
