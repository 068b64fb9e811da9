"""Passages as the offline answer shows them: the library's own paragraphs and lists, whole,
best first, each under its source line and [n], with the sentences that answer the question
in bold.

A passage is read as blocks (`blocks_of`): a paragraph (one line of the passage), or a list
(the line that introduces it, ending in ":", and its items). A block is shown as written and
never joined with another passage's sentences. A block whose first sentence leans on the one
before it ("This meant ...", a bare quotation) starts with the paragraph it leans on. A
paragraph longer than LONG_WORDS shows only the run of its sentences around the marked ones,
"…" where it is cut, and the run never starts on a sentence that leans on the one before.

Blocks are compared with the question by meaning (`Reader`): every sentence against the
question under the index's own embedder (the sentence vectors ingest stored, so a warm answer
embeds only the question); a block counts as its best sentence, plus a little for the rank
retrieval gave its passage. A follow-up is read with the question it follows; a question told
with its situation ("We have 90 schools. How do I choose?") mostly by what it asks; each part
of a multi-part question on its own as well.

Trade-off: the answer is the library's words, so it can be trusted word for word but cannot
summarise; the marked sentences say where to look.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.answer import asking
from assistant.answer.citations import Citations
from assistant.answer.layout import inline
from assistant.answer.units import Unit, Vectors, balanced, not_prose, units_of
from assistant.core.domain import TENSION_BY_ID
from assistant.core.types import Chunk
from assistant.retrieval.library import LoadedIndex
from assistant.retrieval.query import QueryPlan

# A paragraph longer than LONG_WORDS shows the run around its marked sentences, of about
# RUN_WORDS words. At 110/80, blind graders on tune (2026-12-06) found excerpts that stopped
# just before the sentence that answered; most of the library's paragraphs now show whole.
LONG_WORDS = 220
RUN_WORDS = 160
MARK_WITHIN = 0.06  # a sentence this close to its block's best is marked too (at most MARKS)
MARKS = 2
ASKED = 0.7  # share of closeness that is to what a told question asks (fitted on tune)
FOLLOWS = 0.4  # share of a follow-up's closeness that is to the question it follows
RANK = 0.08  # the first retrieved passage's bonus; the n-th gets RANK / n
LIST_LINE = re.compile(r"^\s*(?P<mark>[-•*]|\d{1,2}[.)])\s+\S")
_MARKER_ONLY = re.compile(r"^(?:[-•*]|\d{1,2}[.)])$")  # an item's number read as a sentence
SOURCE_LINE = re.compile(r"^\*(?!\*).*\*$", re.MULTILINE)  # a block's source line


@dataclass
class Block:
    """A paragraph or a list of one library passage, as shown."""

    chunk: Chunk  # the library chunk it is from
    lines: list[str]  # its lines, verbatim
    units: list[Unit]  # its sentences, in order
    listed: bool = False  # a list: its items, after the line that introduces it if any
    introduced: bool = False  # the list opens with a line that introduces it
    cut: bool = False  # a paragraph shown up to a quotation the library never closes

    @property
    def key(self) -> tuple[str, int]:
        return (self.chunk.id, self.units[0].line if self.units else -1)

    @property
    def words(self) -> int:
        return sum(len(line.split()) for line in self.lines)


def blocks_of(index: LoadedIndex, chunk: Chunk, showable: bool = True) -> list[Block]:
    """The passage's blocks, in order. Lines without a sentence an answer could show (a
    heading, a leader's name, a caption) are no block; a list's items stay together with
    the line that introduces it."""
    units = units_of(index, chunk)
    by_line: dict[int, list[Unit]] = {}
    for unit in units:
        by_line.setdefault(unit.line, []).append(unit)
    lines = chunk.text.split("\n")
    out: list[Block] = []
    current: Block | None = None  # the list being read
    for number, line in enumerate(lines):
        own = by_line.get(number, [])
        if LIST_LINE.match(line):
            if current is None:
                current = Block(chunk, [], [], listed=True)
                lead = _introduces(lines, number)
                if lead is not None:  # the line that introduces the list opens it
                    if out and out[-1].key == (chunk.id, lead):
                        out.pop()
                    current.lines, current.units = [lines[lead]], list(by_line.get(lead, []))
                    current.introduced = True
                out.append(current)
            current.lines.append(line)
            current.units += own
            continue
        if line.strip():
            current = None
        if any(answers(u) for u in own):
            out.append(_closed(Block(chunk, [line], list(own))))
    return [b for b in out if _showable(b)] if showable else out


def _closed(block: Block) -> Block:
    """A paragraph whose quotation the library never closes, cut before that quotation
    opens (shown with "…"): no sentence inside an open quotation is shown."""
    if balanced(block.lines[0]) is True:
        return block
    kept: list[Unit] = []
    for unit in block.units:
        if balanced(unit.text) is not True:
            break
        kept.append(unit)
    if not kept:
        return block
    text = block.lines[0]
    end = text.find(kept[-1].text) + len(kept[-1].text)
    return Block(block.chunk, [text[:end]], kept, cut=True)


def _introduces(lines: list[str], item: int) -> int | None:
    """The line right before a list's first item when it introduces the list (ends in ":")."""
    before = item - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    if before < 0 or not lines[before].rstrip().endswith(":"):
        return None
    # a caption ("Quick Facts:") introduces no list a reader is shown
    return None if not_prose(lines[before].rstrip()[:-1]) else before


def answers(unit: Unit, block: Block | None = None) -> bool:
    """Whether a sentence can be what answers the question: library prose, not a question;
    in a list introduced as such ("seven of them as a series of questions:"), a question is
    an item (a bare list of questions for a team answers no one's question)."""
    if unit.prose and not unit.question:
        return True
    return bool(block and block.introduced and unit.question and unit.words >= 4)


def _showable(block: Block) -> bool:
    """A block shown whole must be library prose (or a list of it), its quotations closed,
    and not front or back matter."""
    text = " ".join(block.lines)
    if balanced(text) is not True or any(u.frame for u in block.units):
        return False
    return any(answers(u, block) for u in block.units)


def continued(index: LoadedIndex, block: Block) -> Block:
    """A list that runs on into the next passages of its section, whole: their items join
    it (each part cites the passage shown for it). A paragraph that ends its passage with a
    line introducing a list ("These are seven key questions ...:") brings the list that opens
    the next passage: an introduction is never shown without what it introduces."""
    intro = not block.listed and bool(block.lines) and block.lines[-1].rstrip().endswith(":")
    blocks = blocks_of(index, block.chunk) if block.listed or intro else []
    if not blocks or blocks[-1].key != block.key:
        return block  # not a list, or one that ends in its passage
    lines, units, chunk = list(block.lines), list(block.units), block.chunk
    while True:
        at = index.rows.get(chunk.id)
        nxt = index.chunks[at + 1] if at is not None and at + 1 < len(index.chunks) else None
        if nxt is None or nxt.doc_id != chunk.doc_id or nxt.section != chunk.section:
            break
        more = blocks_of(index, nxt, showable=False)  # items that go on the list shown
        opening = next(i for i, line in enumerate(nxt.text.split("\n")) if line.strip())
        if not more or not more[0].listed or more[0].key[1] != opening:
            break
        lines += more[0].lines
        units += more[0].units
        if len(more) > 1:
            break  # the list ends in this passage
        chunk = nxt
    if intro and len(lines) == len(block.lines):
        # Nothing follows it (the paper's list was a graphic): the introduction goes.
        last = block.units[-1] if len(block.units) > 1 else None
        at = block.lines[-1].rfind(last.text) if last else -1
        if last is None or at <= 0:
            return block
        cut = block.lines[-1][:at].rstrip()
        return Block(block.chunk, [*block.lines[:-1], cut], block.units[:-1], cut=block.cut)
    return Block(block.chunk, lines, units, True, block.introduced or intro)


def with_antecedent(index: LoadedIndex, block: Block) -> Block | None:
    """The block, led by the paragraph its first sentence leans on; None when that is not a
    paragraph of the same passage."""
    first = block.units[0] if block.units else None
    if first is None or not first.leans or block.listed:
        return block
    blocks = blocks_of(index, block.chunk)
    at = next((i for i, b in enumerate(blocks) if b.key == block.key), None)
    if not at:
        return None
    before = blocks[at - 1]
    if before.listed or before.units[-1].line != first.line - 1:
        return None
    return Block(block.chunk, before.lines + block.lines, before.units + block.units)


class Reader:
    """Scores sentences against one question by meaning (see the module docstring)."""

    def __init__(self, index: LoadedIndex, plan: QueryPlan):
        self.vectors = Vectors.of(index)
        self.plan = plan
        # The plan's one reading: its parts, and its vector (of the search text, embedded
        # once by retrieval); only what the plan has no vector for is embedded here.
        searched = index.retriever.query_vector(plan)
        self._follow = plan.followup and plan.search_text != plan.question
        parts = plan.parts or [plan.question]
        told = asking.asking(plan.question) if len(parts) == 1 else None
        self.parts = parts if len(parts) > 1 else []
        # Rows of `q`: the question, the follow-up's search text, what a told question
        # asks, then each part.
        texts = [plan.question] if self._follow else []
        self._told = 1 + self._follow if told else None
        if told:
            texts.append(told)
        self._parts_at = 1 + self._follow + bool(told)
        embedded = self.vectors.query(texts) if texts else np.zeros((0, len(searched)))
        rows = [embedded[0], searched, *embedded[1:]] if self._follow else [searched, *embedded]
        if self.parts:
            rows += list(index.retriever.part_vectors(plan))
        self.q = np.stack(rows).astype(np.float32, copy=False)
        self._cache: dict[str, np.ndarray] = {}

    def _cos(self, units: list[Unit]) -> np.ndarray:
        missing = [u.text for u in units if u.text not in self._cache]
        if missing:
            missing = list(dict.fromkeys(missing))
            for text, row in zip(missing, self.vectors.get(missing) @ self.q.T, strict=True):
                self._cache[text] = row
        if not units:
            return np.zeros((0, len(self.q)))
        return np.stack([self._cache[u.text] for u in units])

    def scores(self, units: list[Unit], part: int | None = None) -> np.ndarray:
        """Each unit's closeness to the question (or to one of its parts)."""
        cos = self._cos(units)
        if not len(cos):
            return np.zeros(0)
        main = cos[:, 0]
        if self._follow:
            main = (1 - FOLLOWS) * main + FOLLOWS * cos[:, 1]
        if self._told is not None:
            main = (1 - ASKED) * main + ASKED * cos[:, self._told]
        if part is not None:
            main = 0.5 * main + 0.5 * cos[:, self._parts_at + part]
        return main


@dataclass
class Scored:
    block: Block
    shown: Chunk  # the retrieved passage its [n] opens
    score: float
    marks: list[float] = field(default_factory=list)  # each unit's score


def score_blocks(
    reader: Reader, pool: list[tuple[Block, Chunk, int]], part: int | None = None
) -> list[Scored]:
    """Blocks best first: their best sentence's closeness plus their passage's rank bonus."""
    units = [u for block, _, _ in pool for u in block.units]
    flat = reader.scores(units, part)
    out, at = [], 0
    for block, shown, rank in pool:
        mine = [float(s) for s in flat[at : at + len(block.units)]]
        at += len(block.units)
        fit = [s for s, u in zip(mine, block.units, strict=True) if answers(u, block)]
        if fit:
            out.append(Scored(block, shown, max(fit) + RANK / (1 + rank), mine))
    out.sort(key=lambda s: -s.score)
    return out


def marked(scored: Scored) -> set[int]:
    """The positions (in the block) of the sentences that answer: its best, and one more as
    close to the question."""
    fit = [
        (s, i)
        for i, (s, u) in enumerate(zip(scored.marks, scored.block.units, strict=True))
        if answers(u, scored.block)
    ]
    fit.sort(reverse=True)
    if not fit:
        return set()
    best = fit[0][0]
    return {i for s, i in fit[:MARKS] if s >= best - MARK_WITHIN}


def render(
    scored: Scored, cites: Citations, mark: bool = True, index: LoadedIndex | None = None
) -> str:
    """The block quoted under its source line, marked sentences in bold, each line ending in
    its [n] (a list that runs on into another passage cites each part's passage; `index`
    gives the passage shown for a part)."""
    block = scored.block
    marks = marked(scored) if mark else set()
    if block.listed:

        def home(chunk: Chunk) -> Chunk:
            if chunk.id == block.chunk.id or index is None:
                return scored.shown
            return index.shown.get(chunk.id, chunk)

        body = _list_body(block, marks, lambda chunk: cites.cite(home(chunk)))
    else:
        body = _paragraph_body(block, marks, cites.cite(scored.shown))
    quoted = "\n".join(f"> {line}" if line else ">" for line in body.split("\n"))
    return f"{source_line(block.chunk)}\n{quoted}"


def _paragraph_body(block: Block, marks: set[int], marker: str) -> str:
    """The paragraph (or the run shown of it), each of its lines ending in `marker`."""
    units = block.units
    start, end = 0, len(units)
    if block.words > LONG_WORDS and marks:
        start, end = _run(units, min(marks), max(marks))
    lines: list[list[str]] = [[]]
    for i in range(start, end):
        if lines[-1] and units[i].line != units[i - 1].line:
            lines.append([])
        text = inline(units[i].text)
        lines[-1].append(f"**{text}**" if i in marks else text)
    if start > 0:
        lines[0].insert(0, "…")
    if end < len(units) or block.cut:
        lines[-1].append("…")
    return "\n\n".join(f"{' '.join(line)} {marker}" for line in lines)


def _run(units: list[Unit], first: int, last: int) -> tuple[int, int]:
    """The sentences around the marked ones to show of a long paragraph: from a sentence
    that leans on nothing before it, about RUN_WORDS long."""
    start = first
    while start > 0 and units[start].leans:
        start -= 1
    end = last + 1
    words = sum(u.words for u in units[start:end])
    while end < len(units) and words + units[end].words <= RUN_WORDS:
        words += units[end].words
        end += 1
    while start > 0 and words + units[start - 1].words <= RUN_WORDS:
        start -= 1
        words += units[start].words
        while start > 0 and units[start].leans:
            start -= 1
            words += units[start].words
    return start, end


def _list_body(block: Block, marks: set[int], cite: Callable[[Chunk], str]) -> str:
    """The list as Markdown: its introducing line, then each item behind its own marker (a
    number stays a number), each line ending in the [n] of its passage."""
    by_line: dict[tuple[str, int], list[tuple[int, Unit]]] = {}
    for i, unit in enumerate(block.units):
        by_line.setdefault((unit.chunk.id, unit.line), []).append((i, unit))
    out = []
    for (_, number), units in by_line.items():
        chunk = units[0][1].chunk
        lines = chunk.text.split("\n")
        shown = [(i, u) for i, u in units if not _MARKER_ONLY.match(u.text)]
        text = " ".join(f"**{inline(u.text)}**" if i in marks else inline(u.text) for i, u in shown)
        bullet = LIST_LINE.match(lines[number])
        if bullet:
            mark = bullet.group("mark")
            text = f"{mark[:-1]}. {text}" if mark[:-1].isdigit() else f"- {text}"
        out.append(f"{text} {cite(chunk)}")
    return "\n".join(out)


def source_line(chunk: Chunk) -> str:
    """Where the text is from, in italics: the document's short title, its pages, and the
    section path (a tension's long question shown by its name)."""
    title = chunk.title.split(":")[0].strip()
    # Quotation marks are the library's; a heading's are dropped, so none reads as a quote.
    path = [re.sub('[“”"]', "", p).strip() for p in chunk.section.split(" > ") if p.strip()]
    if chunk.tension and path:
        path[0] = TENSION_BY_ID[chunk.tension].label
    where = f"{title}, pp. {chunk.pages}" if chunk.pages else title
    if path:
        where = f"{where} — {' › '.join(path)}"
    return f"*{inline(where)}*"
