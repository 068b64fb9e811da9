"""Where the library is data, the answer shows the record: a card per district example, a
reflection guide or a tension's questions and lessons whole.

A district card is one catalog example told for one school system (assistant.answer.
districts): `- **District, ST — Strategy title**: what it did “its leader's words” — Leader
[n]`. "What it did" is a run of that system's own consecutive sentences of the example: from
its start when the sentence closest to the question fits within CARD_WORDS, else from that
sentence (or the one it leans on); the closest is in bold. A sentence that is another
district's never appears on the card.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from assistant.answer.citations import Citations
from assistant.answer.districts import Story, label
from assistant.answer.layout import inline
from assistant.answer.passages import Reader
from assistant.answer.units import Unit, not_prose, units_of
from assistant.core.domain import TENSION_BY_ID
from assistant.core.text import squash
from assistant.core.types import Chunk
from assistant.retrieval.library import LoadedIndex

Allowed = Callable[[Chunk], bool]
_END = re.compile(r"[.!?][”’\"')]*$")
_NUMBERED = re.compile(r"^(\d{1,2})[.)]\s+")
CARD_WORDS = 60  # "what it did" on a card runs to about this many words ...
# ... and for a question about one school system, to this many: the whole example, in most.
# At 60, blind graders on tune (2026-12-06) found such cards cut to a heading and a quote,
# dropping the sentence that answers ("stops at what the assessment measured and never says
# what Fulton did with it"). Cards that compare several districts stay short.
ONE_SYSTEM_WORDS = 150


def story_score(reader: Reader, story: Story) -> tuple[float, int | None]:
    """The story's closeness to the question (its best own sentence) and that sentence's
    place among the story's units (None when it has no sentence to show)."""
    fit = [i for i, u in enumerate(story.units) if u.prose and not u.question]
    if not fit:
        return float("-inf"), None
    scores = reader.scores([story.units[i] for i in fit])
    best = int(scores.argmax())
    return float(scores[best]), fit[best]


def card(
    index: LoadedIndex, story: Story, best: int | None, cites: Citations, words: int = CARD_WORDS
) -> str:
    """One district example as a card (see the module docstring), its "what it did" about
    `words` long; "" when it has nothing of that district's own to show."""
    run = _run(story.units, best, words) if best is not None else []
    text = " ".join(
        f"**{inline(u.text)}**" if u is story.units[best] and len(run) > 1 else inline(u.text)
        for u in run
    )
    said = squash(" ".join(u.text for u in run))
    if story.quote and squash(story.quote.strip('“”"')) not in said:
        words = inline(story.quote) + (f" — {inline(story.leader)}" if story.leader else "")
        text = f"{text} {words}" if text else words
    if not text:
        return ""
    head = f"{label(story.system, story.chunk)} — {story.example['title']}"
    return f"- **{inline(head)}**: {text} {cites.cite(story.chunk)}"


def _run(units: list[Unit], best: int, limit: int = CARD_WORDS) -> list[Unit]:
    """Consecutive own sentences around `best`, from one that leans on nothing before it."""

    def joined(i: int) -> bool:  # units[i] follows units[i - 1] in the passage
        return i > 0 and units[i].position == units[i - 1].position + 1

    start = best
    while units[start].leans and joined(start):
        start -= 1
    if units[start].leans:
        return []
    first = 0
    while first < start and not units[first].prose:
        first += 1
    if (
        all(joined(i) for i in range(first + 1, start + 1))
        and not units[first].leans
        and sum(u.words for u in units[first : best + 1]) <= limit
    ):
        start = first
    end, words = best + 1, sum(u.words for u in units[start : best + 1])
    while end < len(units) and joined(end) and words + units[end].words <= limit:
        words += units[end].words
        end += 1
    return [u for u in units[start:end] if u.prose or u.question]


# -- lists the library gives whole ----------------------------------------------------------
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
            out.append(replace(units[0], text=whole, question=units[-1].question))
        else:
            out.append(fit[0])
    return out


def questions_block(tension_id: str, index: LoadedIndex, cites: Citations, allowed: Allowed) -> str:
    """A tension's reflection questions, each cited (the passage itself: its [n] opens the
    list)."""
    chunk = _first(index, lambda c: c.kind == "reflection" and c.tension == tension_id)
    if not chunk or not allowed(chunk):
        return ""
    items = list_items(index, chunk)
    return "\n".join(f"- {inline(u.text)} {cites.cite(chunk)}" for u in items)


def lessons_block(
    tension_id: str, index: LoadedIndex, cites: Citations, allowed: Allowed, heading: str
) -> str:
    """A tension's lessons learned, each whole. Only the first sentence of each was shown
    until blind graders on tune (2026-12-06) found it dropped the advice itself ("cut to
    their first sentence, which drops the crucial 'give school leaders enough cover to
    experiment' line")."""
    chunk = _first(index, lambda c: c.kind == "lessons" and c.tension == tension_id)
    if not chunk or not allowed(chunk):
        return ""
    by_line: dict[int, list[Unit]] = {}
    for unit in units_of(index, chunk):
        by_line.setdefault(unit.line, []).append(unit)
    # A lesson is a line with library prose (a line withheld as an instruction has none),
    # shown with its short title ("Go slow to go fast.") and every sentence after it.
    lessons = {
        line: [u for u in units if u.prose or (not not_prose(u.text) and _END.search(u.text))]
        for line, units in by_line.items()
        if any(u.prose for u in units)
    }
    if not lessons:
        return ""
    n = cites.cite(chunk)
    items = []
    for units in lessons.values():
        text = " ".join(inline(u.text) for u in units)
        number = _NUMBERED.match(text)  # the library numbers its lessons: so does the list
        items.append(f"{number.group(1)}. {text[number.end() :]}" if number else f"- {text}")
    return f"{heading}\n" + "\n".join(f"{item} {n}" for item in items)


def reflection(
    index: LoadedIndex,
    ranked: list[Chunk],
    question: str,
    cites: Citations,
    allowed: Allowed,
    words: int,
) -> str:
    """The reflection guide the question names or retrieval ranks first, whole (to `words`),
    with its subsection headings; "" when the passages hold none."""
    chunks = [c for c in ranked if c.kind == "reflection" and allowed(c)]
    if not chunks:
        return ""
    chunks = _guide(index, chunks, question, allowed)
    title = chunks[0].section.split(" > ")[-1]
    lines, room = [], words
    subsection = title  # a subsection's heading is shown once, before its first passage
    for chunk in chunks:
        head = chunk.section.split(" > ")[-1]
        if head != subsection and room > 20:
            lines.append(f"- *{inline(head)}*")
            subsection = head
        spectrums = [
            sp for sp in index.catalog.get("spectrums", []) if sp["passage_id"] == chunk.id
        ]
        for unit in list_items(index, chunk):
            if unit.words > room:
                break
            lines.append(f"- {inline(unit.text)} {cites.cite(chunk)}")
            room -= unit.words
            if spectrums and "spectrum" in unit.text.lower():
                # The guide's spectrums are a graphic, read as data: name each one where the
                # guide says to mark it ("never names the seven dimensions", tune's graders).
                for sp in spectrums:
                    line = spectrum_line(sp)
                    lines.append(f"  - {line} {cites.cite(chunk)}")
                    room -= len(line.split())
                spectrums = []
    return f"{heading(title)}\n" + "\n".join(lines)


def spectrum_line(spectrum: dict) -> str:
    """One spectrum of a reflection guide: its name and its two ends, as the library gives
    them ("**Pace**: Fast and Furious ↔ Slow and Steady")."""
    ends = spectrum["ends"].replace("“", "").replace("”", "").replace('"', "")
    tension = TENSION_BY_ID.get(spectrum["tension"])
    if tension and ends.startswith(tension.pole_a) and ends[len(tension.pole_a) :].strip():
        ends = f"{tension.pole_a} ↔ {ends[len(tension.pole_a) :].strip()}"
    return f"**{inline(spectrum['label'])}**: {inline(ends)}"


def _guide(index: LoadedIndex, chunks: list[Chunk], question: str, allowed: Allowed) -> list[Chunk]:
    """The reflection passages to show: those of a section the question names ("the
    Laying the Foundation guide"), else the best-ranked one's; with the passages of that
    section and its subsections, in the library's order."""
    asked = question.lower()
    every = [c for c in index.chunks if c.kind == "reflection" and allowed(c)]

    def named(section: str) -> str | None:
        """The longest part of the section path the question names, as a path prefix."""
        path = section.split(" > ")
        for depth in range(len(path), 0, -1):
            names = [path[depth - 1], *path[depth - 1].split(": ")]  # "Guide 1: Name"
            if any(
                len(n) >= 8 and re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", asked)
                for n in names
            ):
                return " > ".join(path[:depth])
        return None

    for chunk in every:
        root = named(chunk.section)
        if root:
            return [c for c in every if c.section.startswith(root)]
    root = chunks[0].section
    return [c for c in every if c.section.startswith(root)] or chunks[:1]


def heading(text: str) -> str:
    return f"**{inline(text)}**"


def _first(index: LoadedIndex, predicate) -> Chunk | None:
    return next((c for c in index.chunks if predicate(c)), None)
