""" "More from the library": the fuller layouts behind an answer, shown on request.

- a tension: its opening, each side's district examples and the combinations (one bullet
  per district, in its own words), what the survey found, lessons learned, and the
  questions for the team;
- a school system: each of its examples across the tensions, then other passages that
  name it;
- otherwise: the next-best sentences the core answer left out.

Every sentence is a whole unit of a passage (assistant.answer.units), cited with the same
numbering as the core answer; a district bullet shows only that district's sentences
(assistant.answer.districts). The survey's figures are its own sentences; the catalog's
working notes (which figure is whose) are never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from assistant.answer.citations import Citations
from assistant.answer.districts import Districts, Story, label
from assistant.answer.layout import cited, inline
from assistant.answer.units import Unit, units_of
from assistant.core import catalog as framework
from assistant.core.domain import TENSION_BY_ID
from assistant.core.text import squash
from assistant.core.types import Chunk
from assistant.retrieval.library import LoadedIndex

Allowed = Callable[[Chunk], bool]


def story_line(story: Story, units: list[Unit], head: str | None = None, shown: str = "") -> str:
    """One district bullet without its marker: its label, its own sentences, its leader's
    words (unless they are already `shown`). The caller cites `story.chunk` after it once
    the line is kept, so numbers follow the order of what is shown."""
    lead = head or label(story.system, story.chunk)
    text = " ".join(inline(u.text) for u in units)
    quote = story.quote
    said = squash(" ".join([shown, *(u.text for u in units)]))
    if quote and squash(quote.strip('“”"')) not in said:
        words = f"{inline(quote)} — {inline(story.leader)}" if story.leader else inline(quote)
        text = f"{text} {words}" if text else words
    return f"- **{inline(lead)}**: {text}"


def cited_line(story: Story, units: list[Unit], cites: Citations, head: str | None = None) -> str:
    return f"{story_line(story, units, head)} {cites.cite(story.chunk)}"


def _story_units(story: Story, n: int = 2) -> list[Unit]:
    """A story's first `n` sentences fit to show (those leaning on a sentence that is not
    the district's own are left out)."""
    out: list[Unit] = []
    for unit in story.units:
        if len(out) >= n:
            break
        if not unit.prose or unit.question:
            continue
        if unit.leans and not (out and out[-1].position == unit.position - 1):
            continue
        out.append(unit)
    return out


def tension_layout(tension_id: str, index: LoadedIndex, cites: Citations, allowed: Allowed) -> str:
    t = TENSION_BY_ID[tension_id]
    out = [f"**{t.label}**: {inline(t.question)}"]
    intro = _first(
        index, lambda c: c.tension == tension_id and c.kind == "narrative" and not c.side
    )
    if intro and allowed(intro):
        units = [u for u in units_of(index, intro) if u.prose and not u.question][:2]
        if units:
            out.append(cited([units], cites))
    districts = Districts.of(index)
    examples = [e for e in index.catalog.get("examples", []) if e["tension"] == tension_id]
    for side in ("a", "b", "combine"):
        lines = []
        for e in examples:
            if e["side"] != side:
                continue
            for system in dict.fromkeys(e.get("systems") or []):
                story = districts.story(system, e["id"])
                if story is None or not allowed(story.chunk):
                    continue
                units = _story_units(story)
                if units or story.quote:
                    lines.append(
                        cited_line(
                            story, units, cites, f"{label(system, story.chunk)} — {e['title']}"
                        )
                    )
        if lines:
            heading = f"Why {t.side_label(side)}" if side != "combine" else "Combining both"
            out.append(f"### {heading}\n" + "\n".join(lines))
    out.append(survey_block(tension_id, index, cites, allowed))
    out.append(lessons_block(tension_id, index, cites, allowed))
    out.append(questions_block(tension_id, index, cites, allowed))
    return "\n\n".join(part for part in out if part)


def district_layout(system: str, index: LoadedIndex, cites: Citations, allowed: Allowed) -> str:
    districts = Districts.of(index)
    out = []
    by_tension: dict[str, list[str]] = {}
    for story in districts.stories.get(system, []):
        if not allowed(story.chunk):
            continue
        units = _story_units(story, 3)
        if units or story.quote:
            head = f"{label(system, story.chunk)} — {story.example['title']}"
            by_tension.setdefault(story.example["tension"], []).append(
                cited_line(story, units, cites, head)
            )
    for tension_id, lines in by_tension.items():
        out.append(f"### {TENSION_BY_ID[tension_id].label}\n" + "\n".join(lines))
    mentions = [
        u
        for u in districts.mentions.get(system, [])
        if u.prose and not u.question and not u.leans and allowed(u.chunk)
    ][:4]
    if mentions:
        out.append(
            "### Other mentions\n"
            + "\n".join(
                f"- **{inline(label(system, u.chunk))}**: {cited([[u]], cites)}" for u in mentions
            )
        )
    return "\n\n".join(out)


def survey_block(tension_id: str, index: LoadedIndex, cites: Citations, allowed: Allowed) -> str:
    """The survey's own sentences on a tension: its figures, then the patterns it reports."""
    chunks = [
        c for c in index.chunks if c.kind == "survey" and c.tension == tension_id and allowed(c)
    ]
    finding = next(iter(framework.findings(index.catalog, tension_id)), None)
    patterns = [squash(p) for p in (finding or {}).get("patterns", [])]
    figures, found = [], []
    for chunk in chunks:
        for unit in units_of(index, chunk):
            if not unit.prose or unit.question:
                continue
            if any(ch.isdigit() for ch in unit.text) and len(figures) < 4:
                figures.append(unit)
            elif any(p[:60] in squash(unit.text) for p in patterns) and len(found) < 3:
                found.append(unit)
    lines = [f"- {cited([[u]], cites, figures=True)}" for u in figures + found]
    return "### What the survey says\n" + "\n".join(lines) if lines else ""


def lessons_block(
    tension_id: str,
    index: LoadedIndex,
    cites: Citations,
    allowed: Allowed,
    heading: str = "### Lessons learned",
) -> str:
    """A tension's lessons learned, the first sentence of each."""
    chunk = _first(index, lambda c: c.kind == "lessons" and c.tension == tension_id)
    if not chunk or not allowed(chunk):
        return ""
    firsts: dict[int, Unit] = {}
    for unit in units_of(index, chunk):
        if unit.prose and unit.line not in firsts:
            firsts[unit.line] = unit
    if not firsts:
        return ""
    return f"{heading}\n" + "\n".join(f"- {cited([[u]], cites)}" for u in firsts.values())


def questions_block(
    tension_id: str, index: LoadedIndex, cites: Citations, allowed: Allowed, heading: bool = True
) -> str:
    chunk = _first(index, lambda c: c.kind == "reflection" and c.tension == tension_id)
    if not chunk or not allowed(chunk):
        return ""
    items = list_items(index, chunk)
    if not items:
        return ""
    body = "\n".join(f"- {cited([[u]], cites)}" for u in items)
    return ("### Questions for your team\n" if heading else "") + body


def list_items(index: LoadedIndex, chunk: Chunk) -> list[Unit]:
    """A list passage's items (a question, or an instruction), each whole: an item of
    several sentences ("What would X look like? What about Y?") is one unit."""
    by_line: dict[int, list[Unit]] = {}
    for unit in units_of(index, chunk):
        by_line.setdefault(unit.line, []).append(unit)
    out = []
    for units in by_line.values():
        fit = [u for u in units if u.prose or (u.question and u.words >= 4)]
        if not fit:
            continue
        whole = " ".join(u.text for u in units)
        if all(u.prose or u.question for u in units) and len(units) > 1 and whole in chunk.text:
            first = units[0]
            out.append(replace(first, text=whole, question=units[-1].question))
        else:
            out.append(fit[0])
    return out


def _first(index: LoadedIndex, predicate) -> Chunk | None:
    return next((c for c in index.chunks if predicate(c)), None)
