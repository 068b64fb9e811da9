"""The offline composer: the library's own text, with no language model.

The answer is the passages first (assistant.answer.passages): whole paragraphs and lists,
best first, each under its source line and [n], the sentences that answer the question in
bold. Where the library is data, the record instead (assistant.answer.cards):
- "How did other districts ...", a tension, several districts named: one card per district
  example (what it did, its leader's words);
- one school system: its examples, as cards;
- questions for a team: the tension's questions or the reflection guide, whole;
- lessons learned on a tension: the lessons, whole.
Scope comes first: a partial answer opens with the scope step's sentence on what the library
lacks, and what follows is labelled as the closest material; a question the library does not
answer gets the refusal and, when retrieval ran, the closest passages labelled as such
(`declined`, `closest`). Nothing is ever composed.

The first screen holds about `words` words of library text (LBW_ANSWER_WORDS); the next
pieces go to `Answer.more`, "More from the library", numbered on.

Trade-off: every word is the library's, so the answer can be trusted word for word but
cannot summarise; the marks say where the answer is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from assistant.answer import asking, cards
from assistant.answer.citations import Citations
from assistant.answer.composer import Composer
from assistant.answer.districts import Districts, Story
from assistant.answer.layout import inline, word_count
from assistant.answer.passages import (
    LIST_LINE,
    RANK,
    SOURCE_LINE,
    Block,
    Reader,
    Scored,
    blocks_of,
    continued,
    render,
    score_blocks,
    with_antecedent,
)
from assistant.answer.scope import PARTIAL, ScopeDecision
from assistant.answer.units import source_chunks, units_of
from assistant.core import catalog as framework
from assistant.core.domain import TENSION_BY_ID, find_systems
from assistant.core.numbers import counts
from assistant.core.text import normalize
from assistant.core.types import Answer, Chunk
from assistant.retrieval.library import LoadedIndex, Retrieved
from assistant.retrieval.reading import RANKING_ASK

CLOSEST = "The closest material in the library:"
PER_PASSAGE = 2  # blocks of one passage on the first screen: the rest show other passages
FIGURE = 0.05  # a block that gives a figure, for a question that asks for one
# A question that counts what it asks for ("what are the seven tensions?", "the six areas")
# is answered by a list of exactly that many items: such a list leads. Without it the
# seven tensions were answered by a lessons list and a survey paragraph (tune W1-038).
COUNTED = 0.5
MORE_SCREENS = 3  # "More from the library" holds up to this many screens
# The best block of each of the first LEAD retrieved passages leads (best first): retrieval's
# top three held the evidence blind graders valued most (on tune: 58 of 84 in-library
# questions cite their evidence on the first screen, against 53 ranking blocks alone).
LEAD = 3


@dataclass
class Piece:
    """One thing the answer shows (a passage block, a card, a list), written on demand so
    its [n] follows the order of what is shown."""

    write: Callable[[Citations], str]
    words: int
    key: str  # what it shows, so nothing is shown twice


class OfflineComposer(Composer):
    name = "offline"

    def __init__(self, words: int | None = None):
        self._words = words

    @property
    def words(self) -> int:
        """The first screen's library words (LBW_ANSWER_WORDS, read on first use)."""
        if self._words is None:
            from assistant.core.settings import Settings

            self._words = Settings.from_env().answer_words
        return self._words

    def compose(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> Answer:
        cites = Citations()
        layout = Layout(found, index, self.words)
        pieces = layout.pieces()
        head = []
        if scope.outcome == PARTIAL:
            if scope.missing:
                head.append(inline(scope.missing))
            if "closest" not in scope.missing.lower():  # unless its sentence says so already
                head.append(CLOSEST)
        first, rest = _screen(pieces, self.words)
        text = "\n\n".join([*head, *(p.write(cites) for p in first)])
        more = _more(rest, cites, self.words * MORE_SCREENS)
        return Answer(found.plan.question, text, True, cites.items, self.name, more=more)

    def fuller(
        self,
        found: Retrieved,
        index: LoadedIndex,
        cites: Citations,
        pieces: list[Piece] | None = None,
    ) -> str:
        """ "More from the library" under another composer's answer: the layout this composer
        would show, numbered on after `cites`. `pieces`: that layout (`layout`) when it was
        computed ahead, while the other composer's model wrote."""
        if pieces is None:
            pieces = self.layout(found, index)
        return _more(pieces, cites, self.words * MORE_SCREENS)

    def layout(self, found: Retrieved, index: LoadedIndex) -> list[Piece]:
        """What this composer would show for `found`, in order, not yet numbered."""
        return Layout(found, index, self.words).pieces()

    def closest(
        self, found: Retrieved, index: LoadedIndex, cites: Citations, limit: int = 3
    ) -> str:
        """The nearest passages, shown as passages under CLOSEST (never as an answer): the
        best block of each of the first `limit` passages, numbered on after `cites`."""
        layout = Layout(found, index)
        best: dict[str, Scored] = {}
        for s in layout.scored():
            best.setdefault(s.shown.id, s)
            if len(best) >= limit:
                break
        if not best:
            return ""
        return "\n\n".join(
            [CLOSEST, *(render(s, cites, mark=False, index=index) for s in best.values())]
        )

    def declined(
        self, answer: Answer, found: Retrieved | None = None, index: LoadedIndex | None = None
    ) -> Answer:
        """The refusal, followed by the closest passages when retrieval ran."""
        if found is None or index is None:
            return answer
        cites = Citations()
        nearest = self.closest(found, index, cites)
        if not nearest:
            return answer
        return replace(answer, answer=f"{answer.answer}\n\n{nearest}", citations=cites.items)


def asked_count(question: str) -> int | None:
    """How many items the question counts ("the seven tensions" -> 7), if it counts any."""
    return next(iter(counts(question)), None)


def list_items(block: Block) -> int:
    """The items of a list block (its introducing line is not one)."""
    return sum(1 for line in block.lines if LIST_LINE.match(line))


def _screen(pieces: list[Piece], words: int) -> tuple[list[Piece], list[Piece]]:
    """The pieces of the first screen (at least one; within `words` of library text), and
    the rest."""
    first: list[Piece] = []
    used = 0
    for i, piece in enumerate(pieces):
        if first and used + piece.words > words:
            return first, pieces[i:]
        first.append(piece)
        used += piece.words
    return first, []


def _more(pieces: list[Piece], cites: Citations, words: int) -> str:
    out, used = [], 0
    for piece in pieces:
        if out and used + piece.words > words:
            break
        out.append(piece.write(cites))
        used += piece.words
    return "\n\n".join(out)


def _piece(write: Callable[[Citations], str], key: str) -> Piece:
    """A piece, counted in library words (its source lines are not the library's text)."""
    text = write(Citations())
    return Piece(write, word_count(SOURCE_LINE.sub("", text)), key)


class Layout:
    """What one answer shows, in order (see the module docstring)."""

    def __init__(self, found: Retrieved, index: LoadedIndex, words: int | None = None):
        self.found, self.index, self.plan = found, index, found.plan
        self.words = words  # the first screen's library words: a whole passage must fit
        filters = found.filters
        self.allowed = (lambda c: filters.allows(c.metadata())) if filters else (lambda c: True)
        self.reader = Reader(index, self.plan)
        self.previous = normalize(self.plan.previous_answer or "") if self.plan.followup else ""
        self.tension = found.tension or (self.plan.tensions[0] if self.plan.tensions else None)
        # The library chunks of the retrieved passages, best first, with the passage shown.
        self.ranked: list[tuple[Chunk, Chunk, int]] = []
        seen: set[str] = set()
        for rank, s in enumerate(found.chosen):
            for chunk in source_chunks(index, s.chunk):
                if chunk.id not in seen and self.allowed(chunk):
                    seen.add(chunk.id)
                    self.ranked.append((chunk, s.chunk, rank))

    # -- which layout ---------------------------------------------------------------------
    def pieces(self) -> list[Piece]:
        plan = self.plan
        out: list[Piece] = []
        if RANKING_ASK.search(plan.question) and len(TENSION_BY_ID) in counts(plan.question):
            out += self._priorities()  # "rank the seven decisions for me"
        elif plan.intent == "reflection":
            out += self._reflection()
        elif "lessons" in plan.kinds and self.tension and not plan.systems:
            out += self._lessons()
        districts = Districts.of(self.index)
        systems = [s for s in plan.systems if districts.stories.get(s)]
        if not out and len(systems) == 1 and not plan.followup:
            out += self._cards(districts.stories[systems[0]], one_system=True)
        elif (
            not out
            # a figure is the survey's, not the examples'
            and not asking.NUMBER.search(plan.question)
            and (
                asking.OTHERS.search(plan.question) or len(systems) > 1 or plan.intent == "tension"
            )
        ):
            out += self._cards(self._near_stories(districts, systems))
        carded = {p.key.split(":", 1)[1] for p in out if p.key.startswith("card:")}
        passages = self._passages(skip=carded)
        if not out and not passages:  # nothing to quote whole: the examples retrieved
            return self._cards(self._near_stories(districts, systems))
        if out and passages and not any(p.key.startswith("list:") for p in out):
            # The best passage leads when it is closer to the question than any card, unless
            # the question asks what others did (the cards are its answer).
            others = asking.OTHERS.search(plan.question)
            closer = self._lead_score > self._best_card
            if closer and not others and not self._elsewhere(passages[0], systems):
                return [passages[0], *out, *passages[1:]]
            return [*out, *passages]
        return out + passages

    def _elsewhere(self, piece: Piece, systems: list[str]) -> bool:
        """True when the question is about one school system and `piece` does not name it:
        that system's own cards lead then. Blind graders on tune (2026-12-06) marked down an
        answer on LAUSD's teachers that led with another district's passage, and one on
        Somerville's specialist that led with a general paragraph."""
        if len(systems) != 1:
            return False
        return systems[0] not in find_systems(piece.write(Citations()))

    # -- passages -------------------------------------------------------------------------
    def scored(self) -> list[Scored]:
        pool: list[tuple[Block, Chunk, int]] = []
        taken: set[tuple[str, int]] = set()  # the lines a block shown already holds
        for chunk, shown, rank in self.ranked:
            for block in blocks_of(self.index, chunk):
                whole = with_antecedent(self.index, continued(self.index, block))
                if whole is None or self._repeats(whole) or block.key in taken:
                    continue
                taken.update((u.chunk.id, u.line) for u in whole.units)
                pool.append((whole, shown, rank))
        found = score_blocks(self.reader, pool)
        if (count := asked_count(self.plan.question)) is not None:
            for s in found:
                if s.block.listed and list_items(s.block) == count:
                    s.score += COUNTED
            found.sort(key=lambda s: -s.score)
        if asking.NUMBER.search(self.plan.question):
            for s in found:
                if any(ch.isdigit() for ch in " ".join(s.block.lines)):
                    s.score += FIGURE
            found.sort(key=lambda s: -s.score)
        if self.reader.parts:  # each part's best block first, in the question's order
            lead: list[Scored] = []
            for i in range(len(self.reader.parts)):
                best = score_blocks(self.reader, pool, part=i)
                pick = next(
                    (b for b in best if b.block.key not in {x.block.key for x in lead}), None
                )
                if pick is not None:
                    lead.append(next(s for s in found if s.block.key == pick.block.key))
            keys = {s.block.key for s in lead}
            found = lead + [s for s in found if s.block.key not in keys]
        return found

    def _top(self, n: int) -> set[str]:
        return {s.chunk.id for s in self.found.chosen[:n]}

    def _repeats(self, block: Block) -> bool:
        """True when the previous answer already showed this block's first sentence."""
        if not self.previous:
            return False
        first = next((u for u in block.units if u.prose), None)
        return first is not None and normalize(first.text) in self.previous

    def _passages(self, skip: set[str] = frozenset()) -> list[Piece]:
        """Passage blocks, at most PER_PASSAGE of one passage before the others' (none of a
        chunk in `skip`: its cards show it)."""
        scored = [s for s in self.scored() if s.block.chunk.id not in skip]
        self._lead_score = scored[0].score if scored else float("-inf")
        # The best block of each of the first LEAD passages retrieval ranks leads, best first.
        lead: dict[str, Scored] = {}
        count = asked_count(self.plan.question)
        for s in scored:  # a list of the count the question asks for leads (COUNTED)
            if count is not None and s.block.listed and list_items(s.block) == count:
                lead.setdefault(s.shown.id, s)
                break
        counted = bool(lead)
        for s in scored:
            if s.shown.id in self._top(LEAD):
                lead.setdefault(s.shown.id, s)
        scored = [*lead.values(), *(s for s in scored if s not in lead.values())]
        per: dict[str, int] = {}
        first, later = [], []
        for s in scored:
            per[s.shown.id] = per.get(s.shown.id, 0) + 1
            piece = _piece(lambda c, s=s: render(s, c, index=self.index), f"block:{s.block.key}")
            (first if per[s.shown.id] <= PER_PASSAGE else later).append(piece)
        # Not for a follow-up: its search carries the earlier turn, and retrieval's first
        # passage is then most often the one that turn was about (tune W2-042).
        plain = not (counted or self.reader.parts or self.plan.followup)
        whole = self._whole_top(scored) if plain else None
        if whole is None:
            return first + later
        piece, shown = whole
        return [piece, *(p for p in first + later if p.key not in shown)]

    def _whole_top(self, scored: list[Scored]) -> tuple[Piece, set[str]] | None:
        """Retrieval's first passage, whole: its paragraphs and lists in the library's order,
        the answering sentences marked. Blind graders on tune (2026-12-06) most often
        preferred the top three passages where the first of them held the answer and ours
        showed a related paragraph beside it; on tune the first screen then holds every
        evidence string for 29 questions, not 26 (any of them: 50 either way). Also the keys
        of the block pieces it shows, which then go."""
        if not self.found.chosen:
            return None
        top = self.found.chosen[0].chunk.id
        mine = [s for s in scored if s.shown.id == top]
        if not mine:
            return None
        rows = self.index.rows
        mine.sort(key=lambda s: (rows.get(s.block.chunk.id, 0), s.block.key[1]))

        def write(cites: Citations, mine: list[Scored] = mine) -> str:
            out, last = [], None
            for s in mine:  # one source line per library passage
                text = render(s, cites, index=self.index)
                out.append(text.split("\n", 1)[1] if s.block.chunk.id == last else text)
                last = s.block.chunk.id
            return "\n\n".join(out)

        keys = {f"block:{s.block.key}" for s in mine}
        piece = _piece(write, "whole:" + "|".join(sorted(keys)))
        return (piece, keys) if self.words is None or piece.words <= self.words else None

    # -- district cards ----------------------------------------------------------------------
    def _near_stories(self, districts: Districts, systems: list[str]) -> list[Story]:
        """Stories of the districts named, else of the examples retrieved or of the
        question's tension."""
        near = {chunk.id for chunk, _, _ in self.ranked}
        out = []
        for system, stories in districts.stories.items():
            if len(systems) > 1 and system not in systems:
                continue
            for story in stories:
                here = story.chunk.id in near or (
                    self.tension and story.example["tension"] == self.tension
                )
                if here and self.allowed(story.chunk):
                    out.append(story)
        return out

    def _cards(self, stories: list[Story], one_system: bool = False) -> list[Piece]:
        """A card per story, closest first; one per district (unless the question is about
        one); for a tension, the closest of each side first."""
        rank = {chunk.id: r for chunk, _, r in self.ranked}
        scored = []
        for story in stories:
            if not self.allowed(story.chunk):
                continue
            score, best = cards.story_score(self.reader, story)
            if best is None and not story.quote:
                continue
            r = rank.get(story.chunk.id)
            bonus = RANK / (1 + r) if r is not None else 0.0  # as a passage's
            scored.append((score + bonus, story, best))
        scored.sort(key=lambda x: -x[0])
        self._best_card = scored[0][0] if scored else float("-inf")
        order = []
        if self.plan.intent == "tension" and not one_system:
            for side in ("a", "b", "combine"):
                pick = next((x for x in scored if x[1].example["side"] == side), None)
                if pick is not None:
                    order.append(pick)
        order += [x for x in scored if x not in order]
        pieces, seen = [], set()
        later = []
        words = cards.ONE_SYSTEM_WORDS if one_system else cards.CARD_WORDS
        for _, story, best in order:
            if not cards.card(self.index, story, best, Citations(), words):
                continue
            piece = _piece(
                lambda c, s=story, b=best: cards.card(self.index, s, b, c, words),
                f"card:{story.chunk.id}",
            )
            if one_system or story.system not in seen:
                seen.add(story.system)
                pieces.append(piece)
            else:
                later.append(piece)
        return pieces + later

    # -- the survey where a ranking is asked ------------------------------------------------------
    def _priorities(self) -> list[Piece]:
        """For "rank the seven decisions for me": the library ranks none, but its leaders
        survey says how many systems called each one a top-priority challenge. Each
        decision's own sentence with that figure, highest share first. Blind graders on tune
        (2026-12-06) marked both such questions down for "never gives the survey
        top-priority shares (58%, 52%, 45% ...) that would give a usable order"."""
        lines: list[tuple[float, str, Chunk]] = []
        for finding in framework.findings(self.index.catalog):
            source = finding["sources"].get("top_priority")
            chunk = self.index.by_id.get(source["passage_id"]) if source else None
            if chunk is None or finding["top_priority"] is None or not self.allowed(chunk):
                continue
            unit = next((u for u in units_of(self.index, chunk) if source["text"] in u.text), None)
            if unit is not None and unit.prose:
                label = TENSION_BY_ID[finding["tension"]].label
                lines.append(
                    (finding["top_priority"], f"- **{inline(label)}**: {inline(unit.text)}", chunk)
                )
        if len(lines) < 2:
            return []
        lines.sort(key=lambda x: -x[0])
        title = cards.heading("How many surveyed systems called each a top-priority challenge")

        def write(cites: Citations) -> str:
            shown = [f"{text} {cites.cite(self.index.shown.get(c.id, c))}" for _, text, c in lines]
            return "\n".join([title, *shown])

        return [_piece(write, "list:priorities")]

    # -- lists given whole ---------------------------------------------------------------------
    def _reflection(self) -> list[Piece]:
        """The tension's questions; after a school system ("questions for my cabinet about
        this"), those of the tensions its examples sit under, one piece each; else the
        reflection guide."""
        tensions = [self.tension] if self.tension else []
        if not tensions and self.plan.systems:
            found = framework.examples(self.index.catalog, system=self.plan.systems[0])
            tensions = list(dict.fromkeys(e["tension"] for e in found))[:3]
        pieces = []
        for tension in tensions:
            title = cards.heading(f"Questions for your team on {TENSION_BY_ID[tension].label}")

            def write(cites: Citations, t: str = tension, title: str = title) -> str:
                block = cards.questions_block(t, self.index, cites, self.allowed)
                return f"{title}\n{block}" if block else ""

            if write(Citations()):
                pieces.append(_piece(write, f"list:questions:{tension}"))
        if pieces:
            return pieces
        chunks = [chunk for chunk, _, _ in self.ranked]
        question = self.plan.question

        def guide(cites: Citations) -> str:
            return cards.reflection(self.index, chunks, question, cites, self.allowed, 400)

        return [_piece(guide, "list:reflection")] if guide(Citations()) else []

    def _lessons(self) -> list[Piece]:
        tension = self.tension
        assert tension is not None
        title = cards.heading(f"Lessons learned on {TENSION_BY_ID[tension].label}")

        def write(cites: Citations) -> str:
            return cards.lessons_block(tension, self.index, cites, self.allowed, title)

        return [_piece(write, "list:lessons")] if write(Citations()) else []
