"""Sentences as an answer quotes them: whole, closed, library prose, and compared by meaning.

A passage is read line by line; each line's sentences (assistant.core.text.split_sentences)
are joined while a quotation is open, so a unit never starts or ends inside one (“A. B,”
says C. is one unit, not two broken ones). A unit whose quotation never closes on its line
is not quoted at all. Each unit is a verbatim substring of its passage.

A unit is *prose* when a reader could take it as a sentence of an answer: long enough, a
capital at the start and end punctuation at the end, its brackets closed, not a question (unless questions are
what was asked), not a caption, chart label or boilerplate, not front or back matter (the
authors page, acknowledgements, the publisher's page), and not a line addressed to a model.
A unit that leans on the one before it ("This meant ...", "They also ...", a bare quotation)
is *dangling*: an answer shows it with that neighbour or not at all.

Units are compared with the question by the index's own embedder (unit vectors, so a dot
product is the cosine). Their vectors are kept per build (LoadedIndex.derived): the
sentences ingest embedded, and any other unit embedded the first time a question needs it,
so a warm answer embeds only its question.

Trade-off: the prose rules are patterns of form (punctuation, length, caption wording), not
of topic, so they hold for a user's own documents too; a caption written as a full sentence
("The image below shows ...") needs its wording listed here.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np

from assistant.core.domain import find_systems
from assistant.core.safety import instruction_like, visible
from assistant.core.text import split_sentences
from assistant.core.types import Chunk
from assistant.retrieval.library import LoadedIndex

MIN_WORDS = 6
MAX_WORDS = 70
_BULLET = re.compile(r"^\s*(?:[-•*]|\d{1,2}[.)])\s+")
_END = re.compile(r"[.!?…][”’\")]*$")
_START = re.compile(r"^[¹²³⁴⁵⁶⁷⁸⁹]?[“\"(‘']?[A-Z0-9$]")  # a footnote may open with its mark
# Captions, chart labels and web boilerplate, by their form.
_VISUAL = r"(?:image|chart|graph|figure|table|boxplot|map|photo|infographic|diagram)s?"
_NOT_PROSE = re.compile(
    r"Quick Facts|\(n\s*=\s*\d+\)|Participant rating|"
    rf"\b{_VISUAL}\s+(?:below|above)\b|"
    r"\b(?:below|above)\s*[:.]?\s*$|"  # points at what is not shown ...
    # ... as "the following" does, but not a time ("over the following three years") or an
    # example the sentence itself quotes ("offered the following example, “We had ...”"): the
    # rule hid Fulton's roll-out groups from its card (tune W2-022)
    r"\bthe following\b(?!\s+(?:\w+\s+)?(?:years?|months?|weeks?|days?)\b)(?!\s+\w+,\s*[“\"])|"
    r"originally (?:posted|published)|www\.|https?://|\S+@\S+\.\w+|^Please share|"
    r"^Learn more|^Web Version|^Image credit|^Source:|^Photo|[:;]\s*$|"
    r"could not have been written without|special thanks|^thank you to|"  # acknowledgements
    r"^[\w/ -]{1,40}:\s.*;",  # a table row: "Teacher Benefit: this; that"
    re.IGNORECASE,
)
_ENUMERATOR = re.compile(r"(?<![\w(])(?:\d{1,2}|[a-z])\)")
ITEM_WORDS = 9  # a list item without end punctuation needs this many words to be a sentence
# Sections that frame a document rather than say anything about the question.
_FRAME = re.compile(
    r"about the authors?|acknowledg|^contents$|table of contents|^the learning accelerator$",
    re.IGNORECASE,
)
# A unit that leans on the one before it (a quotation leans unless its speaker follows it).
_POINTS_BACK = re.compile(
    r"^(?:this|that|these|those|they|them|their|it|its|he|she|his|her|such)\b", re.IGNORECASE
)
_CONNECTS = re.compile(
    r"^(?:however|but|and|also|similarly|conversely|instead|still|yet|so|then|thus|as a result|"
    r"in both cases|for example|for instance|another|other|the district|the school|both|each|"
    r"here|there|otherwise|likewise|in addition|additionally|again|once)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unit:
    """One quotable sentence (or sentences joined across a quotation) of a passage."""

    text: str  # verbatim, from `chunk.text`
    chunk: Chunk  # the passage it is quoted from (the one its [n] opens)
    position: int  # its place among the passage's units
    line: int  # the line of the passage it sits on
    prose: bool  # fit to be a sentence of an answer
    question: bool  # ends with a question mark
    leans: bool  # needs the unit before it to make sense
    item: bool = False  # a list item (it may end without punctuation)
    frame: bool = False  # from front or back matter (the authors page): shown only when asked

    @property
    def words(self) -> int:
        return len(self.text.split())


def balanced(text: str) -> bool | None:
    """True when every quotation in `text` opens and closes in order, None while one is
    still open, False when the marks cannot pair (a close before an open, a nested open)."""
    depth = 0
    for ch in text:
        if ch == "“":
            if depth:
                return False
            depth = 1
        elif ch == "”":
            if not depth:
                return False
            depth = 0
    if depth:
        return None
    return text.count('"') % 2 == 0 or None


def split_units(chunk: Chunk) -> list[Unit]:
    """The passage's units in order (see the module docstring)."""
    frame = bool(_FRAME.search(chunk.section.rsplit(" > ", 1)[-1].strip()))
    out: list[Unit] = []
    for number, line in enumerate(chunk.text.split("\n")):
        if not line.strip():
            continue
        hidden = instruction_like(line) or not visible(line).strip()
        sentences = split_sentences(line)
        spans, at = [], 0
        for s in sentences:
            start = line.find(s, at)
            spans.append((start, start + len(s)))
            at = start + len(s)
        i, broken = 0, False
        while i < len(spans):
            j, state = i, balanced(line[spans[i][0] : spans[i][1]])
            while state is None and j + 1 < len(spans):
                j += 1
                state = balanced(line[spans[i][0] : spans[j][1]])
            # Past a quotation that cannot be closed, no sentence of the line is known to be
            # outside it.
            broken = broken or not state
            start, end = spans[i][0], spans[j][1]
            bullet = _BULLET.match(line[start:end])
            if bullet:
                start += bullet.end()
            text = line[start:end].strip()
            if text:
                ok = not broken and not hidden
                item = bool(_BULLET.match(line)) and i == 0
                out.append(_unit(text, chunk, len(out), number, ok, item, frame))
            i = j + 1
    return out


def _unit(
    text: str, chunk: Chunk, position: int, line: int, ok: bool, item: bool, frame: bool
) -> Unit:
    words = len(text.split())
    question = text.rstrip('”’")').endswith("?")
    prose = (
        ok
        and MIN_WORDS <= words <= MAX_WORDS
        and bool(_START.match(text))
        and (bool(_END.search(text)) or (item and words >= ITEM_WORDS))
        and not _NOT_PROSE.search(text)
        and not (text.startswith("(") and text.endswith(")"))
        and _brackets_closed(text)
    )
    # A pronoun needs the sentence it points back to; a connective ("Similarly, ...") only
    # when the sentence does not name its own subject (a school system).
    leans = (
        bool(_POINTS_BACK.match(text))
        or (bool(_CONNECTS.match(text)) and not find_systems(text))
        or _bare_quote(text)
    )
    return Unit(text, chunk, position, line, prose, question, leans, item, frame)


def not_prose(text: str) -> bool:
    """True for a caption, chart label, table row or web boilerplate, by its form (a list
    item shown whole is held to this too)."""
    return bool(_NOT_PROSE.search(text)) or instruction_like(text)


def _brackets_closed(text: str) -> bool:
    """False for a line cut inside brackets (a heading "Which? (“Fast” vs." split at "vs.");
    an enumeration's "1)" or "a)" is not a bracket."""
    text = _ENUMERATOR.sub("", text)
    return text.count("(") == text.count(")")


def unit_cache(index: LoadedIndex) -> dict[str, list[Unit]]:
    """Units by passage id, kept with the build (take it before building another derived
    value that needs units: LoadedIndex.derived is not re-entrant)."""
    return index.derived("answer.units", lambda _: {})


def _bare_quote(text: str) -> bool:
    """A unit that opens with a quotation and says nothing after it (who said it is in the
    sentence before)."""
    if not text.startswith(("“", '"')):
        return False
    close = max(text.rfind("”"), text.rfind('"'))
    return close <= 0 or len(text[close + 1 :].split()) < 2


def units_of(
    index: LoadedIndex, chunk: Chunk, cache: dict[str, list[Unit]] | None = None
) -> list[Unit]:
    """The passage's units, split once per build."""
    cache = unit_cache(index) if cache is None else cache
    found = cache.get(chunk.id)
    if found is None:
        found = cache[chunk.id] = split_units(chunk)
    return found


def source_chunks(index: LoadedIndex, passage: Chunk) -> list[Chunk]:
    """The index's own chunks a shown passage is made of (itself when it is one)."""
    parts = [index.retriever.chunks.get(p) for p in passage.id.split("+")]
    found = [p for p in parts if p is not None]
    return found or [passage]


class Vectors:
    """Unit vectors of texts under the index's embedder, embedded once per build."""

    def __init__(self, index: LoadedIndex):
        self.embedder = index.retriever.embedder
        # Seeded with the sentences ingest embedded, so most units cost nothing; a unit that
        # is not one of them (a quotation joined across sentences) is embedded on first use.
        stored = index.sentence_vectors
        self._cache: dict[str, np.ndarray] = (
            dict(zip(stored.texts, stored.vectors, strict=True)) if stored is not None else {}
        )
        self._lock = threading.Lock()

    @classmethod
    def of(cls, index: LoadedIndex) -> Vectors:
        return index.derived("answer.vectors", cls)

    def get(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            missing.sort(key=len)  # batches of like length pad least
            found = self.embedder.embed_batch(missing)
            with self._lock:
                self._cache.update(zip(missing, found, strict=True))
        with self._lock:
            return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1))

    def query(self, texts: list[str]) -> np.ndarray:
        """Vectors of question texts (not kept: questions rarely repeat)."""
        return self.embedder.embed_batch(texts)
