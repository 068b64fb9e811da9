"""The offline composer: an answer built around the question asked, from verbatim library
sentences, with no language model.

The core answer (at most CORE_WORDS words):
1. for a partial answer, the scope step's sentence on what the library does not cover;
2. the direct answer: two to four sentences chosen by meaning (assistant.answer.picking),
   each with the neighbour it leans on and the [n] of its passage; a multi-part question
   gets each part answered in turn, or said to be absent from the library;
3. only the evidence the question calls for (assistant.answer.asking):
   - one school system: that system's examples, in its own sentences and its leader's words;
   - "how did others handle X", a tension, or a situation the examples speak to: the
     districts that did X, one line each;
   - "X without Y": only examples nearer X than Y;
   - a number: the figures in their sentences (no more evidence);
   - questions for a team: the library's reflection questions.
The fuller layout (a tension's both sides, survey, lessons and questions; a system across
the tensions) goes to `Answer.more`, "More from the library" (assistant.answer.more).

A follow-up is answered from its own words, about the subject the conversation carries
(the planner's systems and tension), and never repeats a sentence of the previous answer.

Trade-off: every sentence is the library's own, so the answer can be trusted word for word
but cannot summarise; what it cannot say in the library's words it leaves to the sources.
"""

from __future__ import annotations

import re

from assistant.answer import asking, more
from assistant.answer.asking import Asked
from assistant.answer.citations import Citations
from assistant.answer.composer import Composer
from assistant.answer.districts import Districts, Story, label, named
from assistant.answer.evidence import ATTRIBUTES
from assistant.answer.layout import cited, inline, word_count
from assistant.answer.picking import Judge, Pick, choose, neighbour
from assistant.answer.scope import PARTIAL, ScopeDecision
from assistant.answer.units import Unit, not_prose, source_chunks, units_of
from assistant.core import catalog as framework
from assistant.core.domain import TENSION_BY_ID
from assistant.core.text import normalize, split_sentences, terms
from assistant.core.types import Answer, Chunk
from assistant.retrieval.library import LoadedIndex, Retrieved

Line = tuple[str, Chunk | None]  # an evidence line before it is cited, and what it cites
CORE_WORDS = 200
DIRECT_WORDS = 110
LINES_WITHIN = 0.12  # a district line asked for is this close to the closest one
_NUMBER = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"hundred|thousand|half|dozen)\b",
    re.IGNORECASE,
)


class OfflineComposer(Composer):
    name = "offline"

    def compose(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> Answer:
        writer = Writer(found, index, scope)
        core = writer.core()
        extra = writer.fuller()
        return Answer(found.plan.question, core, True, writer.cites.items, self.name, more=extra)

    def declined(self, answer: Answer, found=None, index=None) -> Answer:
        """The refusal, then the closest passages as passages when retrieval ran."""
        if found is None or index is None:
            return answer
        cites = Citations()
        closest = self.closest(found, index, cites)
        if not closest:
            return answer
        return Answer(
            answer.question, f"{answer.answer}\n\n{closest}", False, cites.items, self.name
        )

    def closest(
        self, found: Retrieved, index: LoadedIndex, cites: Citations, limit: int = 3
    ) -> str:
        """The nearest passages shown as passages, under a label that says they are the
        closest material, not an answer."""
        shown = [s.chunk for s in found.chosen[:limit]]
        if not shown:
            return ""
        blocks = ["The closest material in the library, shown as it is:"]
        for chunk in shown:
            source = " — ".join(p for p in (chunk.title, chunk.section) if p)
            text = " ".join(chunk.text.split())
            text = text if len(text) <= 600 else text[:600].rsplit(" ", 1)[0] + " …"
            blocks.append(f"> {text} {cites.cite(chunk)}\n>\n> — *{source}*")
        return "\n\n".join(blocks)

    def fuller(self, found: Retrieved, index: LoadedIndex, cites: Citations) -> str:
        """The fuller layout alone, numbered after `cites` (the language-model composer
        offers it under its own answer)."""
        writer = Writer(found, index, ScopeDecision("answered"), cites)
        return writer.fuller()


class Passages(Citations):
    """Citations that name the retrieved passage a sentence was read in (what the answer
    was written from), else the library passage it comes from; numbered by the Citations
    they wrap, so a language model's answer and this text share one numbering."""

    def __init__(self, cites: Citations, shown: dict[str, Chunk]):
        self.inner = cites
        self.shown = shown

    @property
    def items(self):  # type: ignore[override]
        return self.inner.items

    def number(self, chunk: Chunk) -> int:
        return self.inner.number(self.shown.get(chunk.id, chunk))


class Writer:
    """Writes one answer: the core, then "More from the library"."""

    def __init__(
        self,
        found: Retrieved,
        index: LoadedIndex,
        scope: ScopeDecision,
        cites: Citations | None = None,
    ):
        self.found, self.index, self.scope = found, index, scope
        self.plan = found.plan
        self.asked: Asked = asking.read(self.plan)
        self.ranked: list[Chunk] = []
        shown: dict[str, Chunk] = {}
        for s in found.chosen:
            for chunk in source_chunks(index, s.chunk):
                if chunk.id not in shown:
                    shown[chunk.id] = s.chunk
                    self.ranked.append(chunk)
        self.cites = Passages(cites or Citations(), shown)
        filters = found.filters
        self.allowed = (lambda c: filters.allows(c.metadata())) if filters else (lambda c: True)
        self.previous = normalize(self.plan.previous_answer or "") if self.plan.followup else ""
        self.districts = Districts.of(index)
        self.used: set[str] = set()  # unit texts the core shows
        self.listed = False  # the core shows a list asked for
        self._judge: Judge | None = None
        self._picks: dict[tuple[str, str, int], tuple[float, list[Unit]]] = {}
        self.best = float("-inf")  # the direct answer's best score
        self.names = re.findall(r"(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+", self.plan.question)
        self.tension = found.tension or (self.plan.tensions[0] if self.plan.tensions else None)
        self.system = self._one_system()
        # One district's answer leans only on that district's sentences.
        self.own = {u.text for u in self.system_units(self.system)} if self.system else None

    @property
    def judge(self) -> Judge:
        if self._judge is None:
            self._judge = Judge(self.index, self.plan, self.asked)
            self._judge.rank = {c.id: i for i, c in enumerate(self.ranked)}
        return self._judge

    # -- what may be quoted ---------------------------------------------------------------
    def fit(self, unit: Unit) -> bool:
        return (
            unit.prose
            and not unit.question
            and self.allowed(unit.chunk)
            and not (unit.frame and not self._names_asked(unit))
            and not (self.previous and normalize(unit.text) in self.previous)
        )

    def _names_asked(self, unit: Unit) -> bool:
        """True when the unit names someone or something the question names (front and back
        matter, such as the authors page, answers only a question about what it names)."""
        return any(name in unit.text for name in self.names)

    def passage_units(self) -> list[Unit]:
        return [u for c in self.ranked for u in units_of(self.index, c) if self.fit(u)]

    def system_units(self, system: str) -> list[Unit]:
        own = [u for s in self.districts.stories.get(system, []) for u in s.units]
        own += self.districts.mentions.get(system, [])
        return [u for u in dict.fromkeys(own) if self.fit(u)]

    def _one_system(self) -> str | None:
        systems = self.asked.systems
        if len(systems) == 1 and (
            self.districts.stories.get(systems[0]) or self.districts.mentions.get(systems[0])
        ):
            return systems[0]
        return None

    # -- the core answer -------------------------------------------------------------------
    def core(self) -> str:
        blocks: list[str] = []
        if self.scope.outcome == PARTIAL and self.scope.missing:
            blocks.append(inline(self.scope.missing))
        if self.plan.intent == "reflection":
            blocks.append(self.reflection())
            return self._trim(blocks)
        if "lessons" in self.plan.kinds and self.tension and not self.system:
            heading = _heading(f"Lessons learned on {TENSION_BY_ID[self.tension].label}")
            lessons = more.lessons_block(
                self.tension, self.index, self.cites, self.allowed, heading
            )
            if lessons:
                blocks.append(lessons)
                return self._trim(blocks)
        # A list asked for, shown whole (not when the list asked for is what the library
        # lacks: "a ranked list of the seven" is partly answered from what it does hold).
        if self.asked.listing and not self.system and self.scope.outcome != PARTIAL:
            listed = self.whole_list()
            if listed:
                blocks.append(listed)
                self.listed = True
                rest = self.direct(self.passage_units(), most=2)
                return self._trim([*blocks, rest] if rest else blocks)
        if self.system:
            pool = self.system_units(self.system)
            evidence = self.district_examples
        else:
            pool = self.passage_units()
            evidence = self.district_lines
        if self.asked.number:
            pool = self._figures(pool)
        # Asked for examples, the direct answer is short and the district lines say more.
        wants = self.asked.others or self.plan.intent == "tension"
        direct = self.direct(pool, most=2 if wants and not self.system else 4)
        if direct:
            blocks.append(direct)
        lines = [] if self.asked.number and not self.system else evidence()
        if lines:
            blocks.append(self._fit_lines(lines, blocks))
        if not direct and not lines:
            blocks.append(self.fallback())
        return self._trim(blocks)

    # -- a list asked for ---------------------------------------------------------------------
    def whole_list(self) -> str:
        """The list a question asks for, whole: the best-ranked retrieved passage that holds
        a list of exactly as many items as the question counts ("the seven tensions"),
        counting the items that continue it in the passages after it, and that introduces it
        as a list (a line ending in ":" right before its first item); each item verbatim and
        cited, opened by that line. Nothing when the question counts no items: any list
        among the passages would do then, and one that is not the answer pushes the answer
        down."""
        count = self.asked.count
        if count is None:
            return ""
        seen: set[str] = set()
        for s in self.found.chosen:
            for chunk in source_chunks(self.index, s.chunk):
                if chunk.id in seen or not self.allowed(chunk):
                    continue
                intro = _intro(chunk.text)
                parts = [chunk, *self._continued(chunk)]
                seen.update(p.id for p in parts)
                items = [(item, part) for part in parts for item in _items(part.text)]
                if intro and len(items) == count:
                    return self._list_lines(chunk, intro, items)
        return ""

    def _list_lines(self, chunk: Chunk, intro: str, items: list[tuple[str, Chunk]]) -> str:
        lines = [f"{inline(intro)} {self.cites.cite(chunk)}"]
        words = len(intro.split())
        for item, part in items:
            if words + len(item.split()) > CORE_WORDS - 30:
                break
            lines.append(f"- {inline(item)} {self.cites.cite(part)}")
            words += len(item.split())
            self.used.add(item)
        return "\n".join(lines)

    def _continued(self, chunk: Chunk) -> list[Chunk]:
        """The passages right after `chunk` in its document that go on with its list (they
        open with an item, in the same section)."""
        at = self.index.rows.get(chunk.id)
        out: list[Chunk] = []
        for nxt in self.index.chunks[at + 1 :] if at is not None else []:
            if nxt.doc_id != chunk.doc_id or nxt.section != chunk.section:
                break
            first = next((ln for ln in nxt.text.split("\n") if ln.strip()), "")
            if not _LIST_LINE.match(first):
                break
            out.append(nxt)
        return out

    def _figures(self, pool: list[Unit]) -> list[Unit]:
        """For a question that asks for a figure: the sentences that give one, when any of
        them is about as close to the question as the best sentence at all."""
        numbers = [u for u in pool if _NUMBER.search(u.text)]
        if not numbers:
            return pool
        best_all = self.judge.score(self.judge.shortlist(pool))[:1]
        best_num = self.judge.score(self.judge.shortlist(numbers))[:1]
        if best_all and best_num and best_num[0].score >= best_all[0].score - 0.15:
            return numbers
        return pool

    def direct(self, pool: list[Unit], most: int = 4) -> str:
        judge = self.judge
        shortlist = judge.shortlist([u for u in pool if u.text not in self.used])
        if not shortlist:
            return ""
        asked = self.asked
        if not asked.multi:
            picks = judge.score(shortlist)
            self.best = picks[0].score if picks else self.best
            groups = choose(judge, picks, most, DIRECT_WORDS, self.used, own=self.own)
            self._use(groups)
            return cited(groups, self.cites, figures=asked.number)
        paragraphs = []
        each = max(1, min(2, most // len(asked.parts)))
        for i, part in enumerate(asked.parts):
            if asking.asks_others(part) and len(asked.parts) > 1:
                continue  # the district lines answer it
            if self.listed and asking.LIST.search(part):
                continue  # the list shown answers it
            picks = judge.score(shortlist, part=i)
            if picks:
                self.best = max(self.best, picks[0].score)
            if self._absent(part, picks):
                if not self.scope.missing:
                    paragraphs.append(f"The library does not answer this part: *{inline(part)}*")
                continue
            words = DIRECT_WORDS // len(asked.parts) + 20
            groups = choose(judge, picks, each, words, self.used, own=self.own)
            self._use(groups)
            if groups:
                paragraphs.append(
                    cited(groups, self.cites, figures=bool(asking.NUMBER.search(part)))
                )
        return "\n\n".join(paragraphs)

    def _absent(self, part: str, picks: list[Pick]) -> bool:
        """True when nothing in the passages answers this part: it asks for a price, rate or
        score and no close sentence gives a figure, or it says enough to be looked for (three
        words of its own) and no sentence is near it at all."""
        if not picks:
            return True
        top = picks[:8]
        if asking.asks_figure(part) and not any(
            re.search(r"\d", p.unit.text) and ATTRIBUTES.search(p.unit.text) for p in top
        ):
            return True
        if asking.OTHERS.search(part):  # "has anybody done that?": the district lines say
            return False
        own = set(terms(part, drop_generic=True)) - set(terms(" ".join(self.plan.systems)))
        return len(own) >= 3 and top[0].cos < 0.2 and top[0].lexical < 0.2

    def _use(self, groups: list[list[Unit]]) -> None:
        self.used.update(u.text for g in groups for u in g)

    # -- evidence: districts --------------------------------------------------------------
    def _candidate_stories(self) -> list[Story]:
        near = {c.id for c in self.ranked}
        wanted = set(self.asked.systems) if len(self.asked.systems) > 1 else None
        out = []
        for system, stories in self.districts.stories.items():
            if wanted is not None and system not in wanted:
                continue
            for story in stories:
                tension = story.example["tension"]
                relevant = story.chunk.id in near or (tension == self.tension and self.tension)
                if relevant and self.allowed(story.chunk) and story.units:
                    out.append(story)
        return out

    def _story_pick(self, story: Story) -> tuple[float, list[Unit]]:
        """A story's best sentence for the question (with its own neighbour), and its score.
        A sentence that names other systems too counts a little less: a line is one
        district's. (Kept until the answer shows more sentences.)"""
        key = (story.example["id"], story.system, len(self.used))
        if key not in self._picks:
            self._picks[key] = self._pick_in(story)
        return self._picks[key]

    def _pick_in(self, story: Story) -> tuple[float, list[Unit]]:
        units = [u for u in story.units if self.fit(u) and u.text not in self.used]
        own = {u.text for u in story.units}
        best: tuple[float, list[Unit]] = (float("-inf"), [])
        for pick in self.judge.score(units):
            group = [pick.unit]
            if pick.unit.leans:
                before = neighbour(self.index, pick.unit)
                if before is None or before.text not in own or before.text in self.used:
                    continue
                group = [before, pick.unit]
            shared = len({n for u in group for n in named(u.text)}) > 1
            # A line is one district's, and short: a sentence naming others too, a pair, or
            # a long sentence counts a little less.
            size = sum(u.words for u in group)
            score = pick.score - (0.05 if shared else 0.0) - (0.03 if size > 35 else 0.0)
            if score > best[0]:
                best = (score, group)
        return best

    def district_lines(self) -> list[Line]:
        """How other districts handled it: one line per district that did it, each in its
        own sentences (none the direct answer already shows)."""
        asked, plan = self.asked, self.plan
        wants = asked.others or plan.intent == "tension" or len(asked.systems) > 1
        if not wants and (not self.tension or plan.followup):
            return []  # a follow-up stays on the earlier subject
        stories = self._candidate_stories()
        limit = 4 if wants else 2
        # Close enough: asked for, within LINES_WITHIN of the closest district; not asked
        # for, as near the question as the direct answer's best sentence.
        firsts = [self._story_pick(s)[0] for s in stories]
        if not firsts:
            return []
        bar = max(firsts) - LINES_WITHIN if wants else self.best
        chosen: list[tuple[float, Story, list[Unit]]] = []

        def closest(among: list[Story], floor: float) -> tuple[float, Story, list[Unit]] | None:
            taken = {s.system for _, s, _ in chosen}
            best = None
            for story in among:
                if story.system in taken:
                    continue
                score, group = self._story_pick(story)
                if group and score >= floor and (best is None or score > best[0]):
                    best = (score, story, group)
            return best

        # A tension question asks for both sides: the closest example of each side (and of
        # the combinations) first, however far; then the closest others.
        sides = ("a", "b", "combine") if plan.intent == "tension" else ()
        for side in sides:
            pick = closest([s for s in stories if s.example["side"] == side], float("-inf"))
            if pick:
                chosen.append(pick)
                self._use([pick[2]])
        while len(chosen) < limit and (pick := closest(stories, bar)):
            chosen.append(pick)
            self._use([pick[2]])
        lines: list[Line] = []
        shown = " ".join(self.used)
        for _, story, group in chosen:
            head = label(story.system, story.chunk)
            if plan.intent == "tension":
                side = TENSION_BY_ID[story.example["tension"]].side_label(story.example["side"])
                head = f"{head} ({side})"
            lines.append((more.story_line(story, group, head, shown), story.chunk))
        return [(_heading("How districts handled it"), None), *lines] if lines else []

    def district_examples(self) -> list[Line]:
        """One system's examples, closest to the question first."""
        system = self.system
        assert system is not None
        scored = []
        for story in self.districts.stories.get(system, []):
            if self.allowed(story.chunk):
                score, group = self._story_pick(story)
                scored.append((score, story, group))
        scored.sort(key=lambda x: -x[0])
        lines: list[Line] = []
        shown = " ".join(self.used)
        for score, story, group in scored[:3]:
            if not group or (lines and score < self.best - 0.15):
                continue
            self._use([group])
            head = f"{label(system, story.chunk)} — {story.example['title']}"
            lines.append((more.story_line(story, group, head, shown), story.chunk))
        return [(_heading(f"What {label(system)} did"), None), *lines] if lines else []

    def _fit_lines(self, lines: list[Line], blocks: list[str]) -> str:
        """The evidence lines that fit the word limit after the blocks before them, each
        cited only once it is kept."""
        room = CORE_WORDS - sum(word_count(b) for b in blocks)
        (heading, _), body = lines[0], []
        room -= word_count(heading)
        for text, chunk in lines[1:]:
            if word_count(text) <= room and chunk is not None:
                body.append(f"{text} {self.cites.cite(chunk)}")
                room -= word_count(text)
        return heading + "\n" + "\n".join(body) if body else ""

    # -- questions for a team ---------------------------------------------------------------
    def reflection(self) -> str:
        tension = self.found.tension or (self.plan.tensions[0] if self.plan.tensions else None)
        if tension:
            block = more.questions_block(tension, self.index, self.cites, self.allowed, False)
            if block:
                return f"{_heading('Questions for your team on ' + TENSION_BY_ID[tension].label)}\n{block}"
        if self.plan.systems:  # "questions for my cabinet about this" after a system
            tensions = self._system_tensions()
            if tensions:
                t = tensions[0]
                block = more.questions_block(t, self.index, self.cites, self.allowed, False)
                if block:
                    return f"{_heading('Questions for your team on ' + TENSION_BY_ID[t].label)}\n{block}"
        chunks = [c for c in self.ranked if c.kind == "reflection" and self.allowed(c)]
        if not chunks:
            return self.fallback()
        chunks = self._guide(chunks)
        title = chunks[0].section.split(" > ")[-1]
        lines, room = [], CORE_WORDS - word_count(title) - 2
        shown = title  # a subsection's heading is shown once, before its first passage
        for chunk in chunks:
            head = chunk.section.split(" > ")[-1]
            if head != shown and room > 20:
                lines.append(f"- *{inline(head)}*")
                shown = head
            for unit in more.list_items(self.index, chunk):
                if unit.words > room:
                    break
                lines.append(f"- {cited([[unit]], self.cites)}")
                room -= unit.words
                self.used.add(unit.text)
        return f"{_heading(title)}\n" + "\n".join(lines)

    def _guide(self, chunks: list[Chunk]) -> list[Chunk]:
        """The reflection passages to show: those of a section the question names ("the
        Laying the Foundation guide"), else the best-ranked one's; with the passages of that
        section and its subsections, in the library's order."""
        asked = self.plan.question.lower()
        every = [c for c in self.index.chunks if c.kind == "reflection" and self.allowed(c)]

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

    def _system_tensions(self) -> list[str]:
        found = framework.examples(self.index.catalog, system=self.plan.systems[0])
        return list(dict.fromkeys(e["tension"] for e in found))[:3]

    def fallback(self) -> str:
        """When no sentence answers: the closest sentences of the passages, else the
        questions the passages pose (a list of questions for a team), else nothing."""
        judge = self.judge
        units = [u for u in self.passage_units() if u.text not in self.used]
        groups = choose(judge, judge.score(judge.shortlist(units)), 3, DIRECT_WORDS, self.used)
        self._use(groups)
        if groups:
            return cited(groups, self.cites)
        items = [
            u
            for c in self.ranked
            if self.allowed(c)
            for u in more.list_items(self.index, c)
            if u.question and u.text not in self.used
        ][:5]
        if not items:
            return ""
        self.used.update(u.text for u in items)
        lines = "\n".join(f"- {cited([[u]], self.cites)}" for u in items)
        return f"{_heading('Questions the library asks on this')}\n{lines}"

    def _trim(self, blocks: list[str]) -> str:
        return "\n\n".join(b for b in blocks if b.strip()).strip()

    # -- more from the library -------------------------------------------------------------
    def fuller(self) -> str:
        """The text of "More from the library" (the layouts are in assistant.answer.more)."""
        parts = []
        if self.plan.intent == "reflection":
            tensions = [self.tension] if self.tension else []
            if not tensions and self.plan.systems:
                tensions = self._system_tensions()
            for t in tensions:
                parts.append(f"**Questions for your team on {TENSION_BY_ID[t].label}**")
                parts.append(more.questions_block(t, self.index, self.cites, self.allowed, False))
                parts.append(more.lessons_block(t, self.index, self.cites, self.allowed))
        elif self.system:
            parts.append(more.district_layout(self.system, self.index, self.cites, self.allowed))
        elif self.tension:
            parts.append(more.tension_layout(self.tension, self.index, self.cites, self.allowed))
        else:
            judge = self.judge
            units = [u for u in self.passage_units() if u.text not in self.used]
            groups = choose(judge, judge.score(judge.shortlist(units)), 5, 200, self.used, 0.3)
            if groups:
                parts.append("\n".join(f"- {cited([g], self.cites)}" for g in groups))
        return "\n\n".join(p for p in parts if p).strip()


_LIST_LINE = re.compile(r"^\s*(?:[-•*]|\d{1,2}[.)])\s+(?P<item>\S.*)$")


def _items(text: str) -> list[str]:
    """A passage's list items, each whole as written (an item's own next line, such as a
    bracketed name under it, joins the item)."""
    items: list[str] = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        found = _LIST_LINE.match(line)
        if found and len(found["item"].split()) >= 3 and not not_prose(found["item"]):
            item = found["item"].strip()
            after = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if after.startswith("(") and after.endswith(")"):
                item = f"{item} {after}"
            items.append(item)
    return items


def _intro(text: str) -> str:
    """The sentence that introduces a passage's list ("... seven key questions that underlie
    implementation:"), when the passage has one right before its first item."""
    before = text.split("\n")
    for i, line in enumerate(before):
        if _LIST_LINE.match(line):
            lead = [ln for ln in before[:i] if ln.strip()]
            if lead and lead[-1].rstrip().endswith(":"):
                sentences = split_sentences(lead[-1])
                return sentences[-1] if sentences else ""
            return ""
    return ""


def _heading(text: str) -> str:
    return f"**{inline(text)}**"
