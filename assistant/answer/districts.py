"""Whose sentence is it: each school system's own text, from its own catalog records.

An example in the white paper can tell several districts' stories ("Dallas ISD, TX, and
Fulton County, GA, are two districts that used an external partner. Leaders in Dallas
engaged ... Similarly, leaders in Fulton County engaged ..."), and the catalog files it under
one of them. A bullet labelled with a district must show only that district's sentences, so
every sentence is given an owner the way a reader reads the paragraph:

- a sentence that names systems is about those systems;
- one that names none is about the system the paragraph named last;
- before the first name, it is about the example's one system, or about none when the
  example is about several (its introduction speaks of districts in general);
- the example's pull quote is its leader's words, so it belongs to the leader's system.

The same rule reads every other passage that names a system (a blog post's "In Baltimore
County Public Schools, for example, ..."), paragraph by paragraph, with no owner before the
first name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.answer.units import Unit, unit_cache, units_of
from assistant.core.catalog import Example
from assistant.core.domain import SYSTEM_BY_NAME, find_systems
from assistant.core.types import Chunk
from assistant.retrieval.library import LoadedIndex


@dataclass
class Story:
    """One system's part of one example: its own sentences, and its leader's words."""

    system: str
    example: Example
    chunk: Chunk
    units: list[Unit]
    quote: str = ""  # the pull quote, when the example's leader speaks for this system
    leader: str = ""


@dataclass
class Districts:
    """Every system's stories (from the catalog's examples) and other mentions, per build."""

    stories: dict[str, list[Story]] = field(default_factory=dict)
    # Sentences outside the examples that name the system.
    mentions: dict[str, list[Unit]] = field(default_factory=dict)

    @classmethod
    def of(cls, index: LoadedIndex) -> Districts:
        cache = unit_cache(index)
        return index.derived("answer.districts", lambda idx: _build(idx, cache))

    def story(self, system: str, example_id: str) -> Story | None:
        return next(
            (s for s in self.stories.get(system, []) if s.example["id"] == example_id), None
        )


@lru_cache(maxsize=16384)
def named(text: str) -> tuple[str, ...]:
    """The systems a sentence names (assistant.core.domain.find_systems, kept per text)."""
    return tuple(find_systems(text))


def leader_system(example: Example) -> str | None:
    """The system the example's leader speaks for."""
    found = find_systems(example.get("leader_system") or "") or find_systems(
        example.get("system") or ""
    )
    return found[0] if found else None


def owners(units: list[Unit], single: str | None = None) -> list[list[str]]:
    """For each unit, the systems it is about (see the module docstring). `single`: the one
    system the passage is about, owner of what comes before the first name."""
    out: list[list[str]] = []
    line, current = None, []
    for unit in units:
        if unit.line != line:
            line, current = unit.line, [single] if single else []
        names = named(unit.text)
        if names:
            current = list(names)
        out.append(list(current))
    return out


def label(system: str, chunk: Chunk | None = None) -> str:
    """A system's name as an answer shows it, with its state when the cited passage gives it."""
    info = SYSTEM_BY_NAME.get(system)
    if info and info.state and chunk is not None and f", {info.state}" in chunk.text:
        return f"{system}, {info.state}"
    return system


def _build(index: LoadedIndex, cache: dict[str, list[Unit]]) -> Districts:
    districts = Districts()
    stories: dict[str, list[Story]] = defaultdict(list)
    in_examples: set[str] = set()
    for example in index.catalog.get("examples", []):
        chunk = index.by_id.get(example.get("passage_id") or "")
        if chunk is None:
            continue
        in_examples.add(chunk.id)
        systems = list(example.get("systems") or [])
        units = units_of(index, chunk, cache)
        start = chunk.text.find(example["text"][:80]) if example.get("text") else -1
        story = [u for u in units if start < 0 or chunk.text.find(u.text) >= start]
        if start >= 0:
            story = [u for u in story if u.text in example["text"]]
        who = owners(story, systems[0] if len(systems) == 1 else None)
        speaker = leader_system(example)
        for system in dict.fromkeys(systems + ([speaker] if speaker else [])):
            own = [u for u, names in zip(story, who, strict=True) if system in names]
            quote = (example.get("quote") or "") if system == speaker else ""
            if own or quote:
                stories[system].append(
                    Story(system, example, chunk, own, quote, example.get("leader") or "")
                )
    mentions: dict[str, list[Unit]] = defaultdict(list)
    for chunk in index.chunks:
        if chunk.id in in_examples or not chunk.systems:
            continue
        for unit in units_of(index, chunk, cache):
            for system in find_systems(unit.text):
                mentions[system].append(unit)
    districts.stories, districts.mentions = dict(stories), dict(mentions)
    return districts
