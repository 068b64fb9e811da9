"""The district examples as a table: facets, multi-value filters, a word search, rows.

Pure functions over the catalog's example records (see ingest/catalog.py), so the Examples
page's rules are unit-tested without Streamlit. Filters combine as AND across facets and OR
within one (two tensions picked: examples of either). A system matches the examples led by
it or naming it, as `lbw examples --system` does.

The search is a plain case-insensitive word match (every word must occur) over what a reader
sees (title, system, state, leader, role, quote, story) plus the names the library uses for
the systems an example names, so "CPS" finds Chicago. Forty short records need no search index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from assistant.core.catalog import Example
from assistant.core.domain import SYSTEM_BY_NAME, TENSION_BY_ID
from assistant.core.labels import pages_label
from assistant.core.text import fold
from assistant.core.types import Chunk

SEARCHED = ("title", "system", "state", "leader", "role", "quote", "text")
COLUMNS = ("Tension", "Side", "System", "State", "Leader", "Strategy")


def system_names(record: Example) -> list[str]:
    """The canonical names of the systems an example is led by or names."""
    names = list(record.get("systems") or [])
    if record.get("system") and record["system"] not in names:
        names.append(record["system"])
    return names


def facets(examples: Iterable[Example]) -> dict[str, list[str]]:
    """The values each filter offers, sorted: states and system names present in `examples`."""
    examples = list(examples)
    states = {r["state"] for r in examples if r.get("state")}
    systems = {name for r in examples for name in (r.get("systems") or [])}
    return {"states": sorted(states), "systems": sorted(systems)}


def filter_examples(
    examples: Iterable[Example],
    tensions: Sequence[str] = (),
    sides: Sequence[str] = (),
    states: Sequence[str] = (),
    systems: Sequence[str] = (),
) -> list[Example]:
    """The examples that match every non-empty facet (any of the values picked in it)."""
    out = []
    for r in examples:
        if tensions and r.get("tension") not in tensions:
            continue
        if sides and r.get("side") not in sides:
            continue
        if states and r.get("state") not in states:
            continue
        if systems and not set(system_names(r)) & set(systems):
            continue
        out.append(r)
    return out


def _haystack(record: Example) -> str:
    parts = [str(record.get(key) or "") for key in SEARCHED]
    for name in system_names(record):
        system = SYSTEM_BY_NAME.get(name)
        parts += [name, *(system.aliases if system else ())]
    return fold("\n".join(parts))


def search_examples(examples: Iterable[Example], query: str) -> list[Example]:
    """The examples in which every word of `query` occurs (all of them for a blank query)."""
    words = fold(query or "").split()
    if not words:
        return list(examples)
    out = []
    for r in examples:
        haystack = _haystack(r)
        if all(w in haystack for w in words):
            out.append(r)
    return out


def tension_label(tension_id: str) -> str:
    tension = TENSION_BY_ID.get(tension_id)
    return tension.numbered if tension else tension_id


def side_label(tension_id: str, side: str) -> str:
    tension = TENSION_BY_ID.get(tension_id)
    return tension.side_label(side) if tension else side


def rows(examples: Iterable[Example]) -> list[dict[str, str]]:
    """One plain-text table row per example, in COLUMNS order."""
    return [
        {
            "Tension": tension_label(r["tension"]),
            "Side": side_label(r["tension"], r["side"]),
            "System": r.get("system") or "",
            "State": r.get("state") or "",
            "Leader": r.get("leader") or "",
            "Strategy": r.get("title") or "",
        }
        for r in examples
    ]


def table_key(examples: Iterable[Example], prefix: str = "examples-table") -> str:
    """A widget key that changes whenever the listed examples do, so a row picked in one
    table is never read as a row of another (Streamlit keeps selections by row number)."""
    digest = hashlib.blake2b(digest_size=6)
    for r in examples:
        digest.update(r["id"].encode() + b"\0")
    return f"{prefix}-{digest.hexdigest()}"


def byline(record: Example) -> str:
    """'Rebecca Midles, Director of Teaching and Learning · Mesa Valley 51, CO'."""
    who = ", ".join(p for p in (record.get("leader"), record.get("role")) if p)
    where = ", ".join(p for p in (record.get("system"), record.get("state")) if p)
    return " · ".join(p for p in (who, where) if p)


def passage_source(chunk: Chunk) -> str:
    """Where a passage comes from: 'Title — Section (pp. x-y)', plain text."""
    line = " — ".join(p for p in (chunk.title, chunk.section) if p)
    if pages := pages_label(chunk.pages):
        line += f" {pages}"
    return line
