"""Checking a language model's answer against the passages it was given, sentence by sentence.

The model writes Markdown with [n] markers, n numbering the passages of its prompt. Every
sentence is checked as it arrives (so a streamed answer shows only checked text):

- a marker that names no passage is removed and reported (`removed_markers`);
- a cited sentence must be supported by its cited passages: every number, link, school
  system and proper name in it occurs there, every quotation occurs verbatim in one of them,
  and most of its content words (60%, stemmed) do; so must words of quantity or certainty
  ("doubled", "majority", "always");
- a sentence without a marker is read as a reader reads it: covered by the next marker on
  its line, else by the last one of its paragraph, and checked against those passages;
  failing that, it may quote or link nothing, and its names, numbers and most of its content
  words (70%) must occur in one retrieved passage, unless it is a short connecting phrase
  ("Here is what the library says:") in the library's own vocabulary;
- lines of a passage that address a model ("ignore previous instructions ...") never count
  as support (assistant.core.safety);
- a sentence that fails is removed and reported (`unsupported`), never shown as cited fact;
- the surviving markers are renumbered in order of first use, so the answer's citations are
  exactly the passages it cites.

Why lexical: it is deterministic, cheap enough to run per sentence while streaming, and it
is strict exactly where document-chat tools mislead (a district the passage does not name,
a number it does not give, a "quote" it does not contain). Its limit: it cannot see meaning,
so a sentence that reuses a passage's words and numbers but reverses its sense (a dropped
"not") passes. A proper name is recognised as a capitalised word that the library itself
never uses in lower case (or an acronym), so "Springfield" and "PWNED" need a source while
"However" and "Centralized" do not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from functools import cache, lru_cache

import numpy as np

from assistant.core.domain import SYSTEMS, find_systems
from assistant.core.numbers import SCALES, UNITS, counts, numbers
from assistant.core.safety import without_instructions
from assistant.core.text import STOP, normalize, stemmer
from assistant.core.types import Chunk, Unsupported
from assistant.retrieval.library import LoadedIndex

# [3], [3, 5], [3-5]; a backslash-escaped bracket (\[3\]) is literal text, not a marker.
MARKER = re.compile(r"(?<!\\)\[(\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*)\]")
_NAMED_MARKER = re.compile(r"\[(?:passages?|sources?|p)\.?\s*(\d{1,3})\]", re.I)
HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
PREFIX = re.compile(r"^\s*(?:(?:[-*+•]|\d{1,2}[.)])\s+|>\s*)+")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"(?<!\\)\[([^\]]+)\]\([^)\s]*\)")
_HTML = re.compile(
    r"<(script|style)\b.*?(?:</\1\s*>|$)|<!--.*?(?:-->|$)|</?[A-Za-z][^<>]*>", re.DOTALL | re.I
)
_END = re.compile(r"[.!?]+[\"”’')*_]*(?:\s*\[\d[\d\s,;–-]*\])*\s+")
_NEXT = re.compile(r"[“\"‘'(*_]*[A-Z0-9]")
_ABBREV = ("e.g", "i.e", "vs", "dr", "mr", "mrs", "ms", "st", "etc", "u.s", "no", "approx")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")
_CAP = re.compile(r"(?<![\w'-])[A-Z][A-Za-z'-]*")
_URL = re.compile(r"\bhttps?://[^\s)\]>\"]+|\bwww\.[^\s)\]>\"]+|\b[\w.+-]+@[\w-]+\.[\w.]+")
_QUOTE = re.compile(r'"([^"]+)"')
# Words of quantity or certainty a model overclaims with: like numbers, the passage must have them.
STRICT_WORDS = frozenset(
    "double doubled doubling triple tripled tripling quadrupled halved half twice majority "  # noqa: SIM905
    "minority never always".split()
)
# Words a fluent answer opens sentences with; never names, never evidence.
DISCOURSE = frozenset(
    "however additionally moreover overall notably ultimately instead meanwhile similarly "  # noqa: SIM905
    "conversely finally first second third together both each many several while because "
    "since although though rather still yet here in for by as when summary short key "
    "takeaways takeaway example examples approach approaches mention mentions combining "
    "combined overview context related note passage passages".split()
)  # "passages": the answer's name for its own sources (the prompt's word), not a claim
CITED_MIN = 0.6  # share of a cited sentence's content words found in its passages
# Where fewer words overlap, a sentence may still say what its passage says in other words:
# kept when at least MEANING_FLOOR of its words are there and it is this close in meaning
# (cosine, the index's own embedder) to one of the cited passages' sentences. Both fitted on
# the tune half of the labelled verifier set (eval/verifier/).
SHORT_CLAIM, SHORT_MIN = 4, 0.75  # a claim of up to 4 content words may miss at most one
MEANING_FLOOR = 0.4
MEANING_MIN = 0.6
# A clause joined to a supported sentence by a connective (", because", ", which", "; ")
# is checked on its own: on the labelled set's tune half (eval/verifier.py) this caught 21
# of 40 planted "supported sentence + unsupported clause" faults where the whole-sentence
# check caught 3, and removed 3 more of 294 faithful sentences (5 -> 8).
CLAUSE_STEMS = 3  # a clause with fewer content words is not checked on its own
CLAUSE_MIN = 0.5
CLAUSE_MEANING = 0.6
_CLAUSE = re.compile(
    r",\s+(?:and|but|because|since|which|so|while|though|although|as|yet|with)\b|;\s+"
    r"|\s+(?:because|since|so that|which means|in order to)\s+",
    re.IGNORECASE,
)
UNCITED_MIN = 0.7  # ... of an uncited sentence's, in one passage (0.5 for up to 3 words)
# Words cannot tell a fair paraphrase from an on-topic claim the passage does not make. A
# cited sentence whose facts all check out (numbers, names, quotations, links) but whose
# wording decides it (removed for its wording or a clause, or kept with fewer than BORDER of
# its words in the passage) is "borderline": with a model configured, the model re-reads it
# against its passages (LLMComposer.second_reading) and its verdict decides. Fitted on the
# tune half of the labelled set (`python -m eval.verifier score --replies DIR --border B`).
BORDER = 0.8


# A sentence's first word (after any list label's markup): capitalised by grammar, not
# because it is a name; so is the first word after a short lead-in label ("Timeline: The
# five groups ...", from "**Timeline:** The five groups ...").
_FIRST = re.compile(r"[A-Za-z]")
_LABEL = re.compile(r"^[^A-Za-z]*(?:[^\W\d_][\w'&/-]*\s+){0,5}[^\W\d_][\w'&/-]*:\s+(?=[A-Z])")


def _openers(text: str) -> set[int]:
    """Where the words capitalised by grammar start: the sentence's first word, and the
    first word after a lead-in label of up to six words."""
    starts = {first.start()} if (first := _FIRST.search(text)) else set()
    if label := _LABEL.match(text):
        starts.add(label.end())
    return starts


@cache
def _dictionary() -> frozenset[str]:
    """English words in their dictionary case (Webster's Second, from english-words):
    "sorted" and "roll" are words; "Springfield", "Henry" and "Boston" are names."""
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(["web2"], lower=False))


def plain_word(token: str) -> bool:
    """Whether a capitalised word is an ordinary English word, not a name: the dictionary
    has it in lower case and not capitalised (each part of a hyphenated word), or it is an
    inflection or a newer word ("Signs", "Wider", "Timeline") whose dictionary form
    simplemma's English lexicon gives in lower case, as it does not for names ("Boston",
    "Springfields"). A sentence's first word that the library never uses in lower case
    ("Sorted into roll-out groups:") is judged by this; any other capitalised word the
    library does not know is a name."""
    words = _dictionary()
    parts = [p for p in token.split("-") if p]

    def plain(p: str) -> bool:
        return p.lower() in words and p.capitalize() not in words and p.upper() not in words

    return bool(parts) and all(
        plain(p) or (p.capitalize() not in words and _lexicon_word(p.lower())) for p in parts
    )


@lru_cache(maxsize=4096)
def _lexicon_word(low: str) -> bool:
    """A lower-case word that simplemma's English lexicon knows and lemmatises to a
    lower-case form: an ordinary word or an inflection of one, not a proper name."""
    import simplemma

    return simplemma.is_known(low, lang="en") and simplemma.lemmatize(low, lang="en").islower()


@cache
def _system_words() -> dict[str, frozenset[str]]:
    return {
        system.name: frozenset(
            w for alias in system.aliases for w in re.findall(r"[\w'-]+", alias.lower())
        )
        for system in SYSTEMS
    }


def _alias_words(systems: set[str]) -> set[str]:
    """The words of every name and alias of these school systems, lower case."""
    words = _system_words()
    return {w for name in systems for w in words.get(name, ())}


def _stem(word: str) -> str:
    return stemmer().stemWord(word)


def _words(text: str) -> list[str]:
    words = []
    for w in _WORD.findall(text):
        w = w.lower().strip("'-")
        if w.endswith("'s"):
            w = w[:-2]
        words.append(w)
        if "-" in w:
            words.extend(p for p in w.split("-") if p)
    return words


_ITEM = re.compile(r"^\s*(?:[-*+•●▪◦]|\(?\d{1,2}[.)]|\(?[a-z][.)]|Q\d\b)\s*", re.IGNORECASE)
# A sentence that says what the passages do not cover: honest, and no claim about the library.
ABSENCE = re.compile(
    r"^\W*(?:however,?\s+|but\s+)?(?:the|these|those|our|this)?\s*"
    r"(?:passages?|library|documents?|sources?|paper|white paper|articles?|texts?|materials?)"
    r"(?:\s+(?:provided|given|here|shown|available|above))?\s+"
    r"(?:do(?:es)?\s+not|don't|doesn't|never|make no|give no|offer no|contain no|say nothing|"
    r"provide no|include no|has no|have no)\b",
    re.IGNORECASE,
)
# A sentence about what the passages do and do not cover ("The passages describe that joint
# placement, not a full move out of IT"): its wording is about the passages, so only its
# facts (names, numbers, quotations) are checked, not its share of the passage's words.
SCOPE_TALK = re.compile(
    r"\b(?:passages?|library|documents?|sources?|paper|white paper|articles?|post|blog|"
    r"examples?)\b[^.]{0,80}\b(?:not|no|nothing|never|only)\b",
    re.IGNORECASE,
)
_CONTRAST = re.compile(r"[,;]\s*(?:but|however|although|though|yet|while)\b|\bbut\b", re.I)


def list_sizes(text: str) -> set[int]:
    """How many items each list in `text` has: runs of bulleted or numbered lines, and the
    short lines after a line that introduces a list (ending in ":")."""
    sizes: set[int] = set()
    run = 0
    intro = False
    for line in [*text.split("\n"), ""]:
        stripped = line.strip()
        item = bool(stripped) and (bool(_ITEM.match(stripped)) or (intro and len(stripped) <= 160))
        if item:
            run += 1
            continue
        if run >= 2:
            sizes.add(run)
        run = 0
        if stripped:
            intro = stripped.endswith(":")
    return sizes


# A heading: a Markdown heading, or a unit wholly in bold ("**What the library advises**").
_BOLD_UNIT = re.compile(r"^\W{0,3}\*\*[^*]+\*\*\W{0,3}$")
SIGNPOST_STEMS = 6  # a heading with no facts and at most this many content words signposts


def signpost(text: str) -> bool:
    """True for a heading or a list's lead-in line ("Districts that went slower:"): it names
    what follows, and what follows is checked."""
    text = MARKER.sub(" ", text).strip()
    return bool(HEADING.match(text) or _BOLD_UNIT.match(text) or text.endswith(":"))


# "Step 4, tie to outcomes:": the answer's own numbering, not a figure from the library.
_STEP_LABEL = re.compile(r"^\W*step\s+\d{1,2}\b", re.IGNORECASE)


def is_absence(sentence: str) -> bool:
    """True for a plain statement of what the passages do not say, with no second clause
    that could carry a claim of its own."""
    text = normalize(MARKER.sub(" ", sentence))
    return bool(ABSENCE.search(text)) and not _CONTRAST.search(text.split(" not ", 1)[-1])


def sanitize(text: str) -> str:
    """A model's Markdown without images, link targets or HTML (text stays, targets go), and
    with "[Passage 2]" or "[source 2]" read as the marker [2]."""
    text = _NAMED_MARKER.sub(r"[\1]", text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    return _HTML.sub("", text)


def parse_marker(body: str) -> list[int]:
    """'3' -> [3]; '3, 5' -> [3, 5]; '3-5' -> [3, 4, 5] (a range of at most 10)."""
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", body):
        a, _, b = part.partition("-") if "-" in part else part.partition("–")
        if b and a.strip().isdigit() and b.strip().isdigit() and 0 <= int(b) - int(a) < 10:
            out.extend(range(int(a), int(b) + 1))
        elif a.strip().isdigit():
            out.append(int(a))
    return out


@dataclass(frozen=True)
class LibraryWords:
    """What counts as an ordinary word (used in lower case somewhere in the library, or a
    stopword) and which names need no source (the library's own titles and authors)."""

    common: frozenset[str]
    stems: frozenset[str]  # of the common words
    allowed_names: frozenset[str] = frozenset()

    @classmethod
    def build(cls, texts: Iterable[str], names: Iterable[str] = ()) -> LibraryWords:
        common = set(STOP) | DISCOURSE | set(UNITS) | set(SCALES)
        for text in texts:
            for w in _WORD.findall(normalize(text)):
                if w[0].islower():
                    common.add(w.lower())
        allowed = {w for n in names for w in _words(normalize(n or ""))}
        # ... and their initials: "TLA" for The Learning Accelerator, a publisher it names
        for n in names:
            words = [w for w in re.findall(r"[A-Za-z]+", normalize(n or "")) if w]
            for kept in (words, [w for w in words if w.lower() not in STOP]):
                if len(kept) >= 2:
                    allowed.add("".join(w[0] for w in kept).lower())
        stems = frozenset(stemmer().stemWords(sorted(common)))
        return cls(frozenset(common), stems, frozenset(allowed))


@dataclass
class Support:
    """The evidence one passage (or several, merged) offers: words, stems, numbers, names."""

    quote_texts: list[str]
    text: str
    words: set[str]
    stems: set[str]
    numbers: set[str]
    systems: set[str]
    lists: set[int] = field(default_factory=set)
    # small counts (up to 12) its document states anywhere: a count of a list's items
    document_numbers: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, chunk: Chunk) -> Support:
        body = normalize(without_instructions(chunk.text, ""))
        context = normalize(f"{chunk.title} {chunk.section}")
        both = f"{context} {body}"
        words = set(_words(both))
        return cls(
            [body, context],
            both,
            words,
            set(stemmer().stemWords(sorted(words))),
            numbers(both),
            set(find_systems(both)) | set(chunk.systems),
            list_sizes(without_instructions(chunk.text, "")),
        )

    @classmethod
    def merge(cls, parts: Sequence[Support]) -> Support:
        return cls(
            [q for p in parts for q in p.quote_texts],
            " ".join(p.text for p in parts),
            set().union(*(p.words for p in parts)),
            set().union(*(p.stems for p in parts)),
            set().union(*(p.numbers for p in parts)),
            set().union(*(p.systems for p in parts)),
            set().union(*(p.lists for p in parts)),
            set().union(*(p.document_numbers for p in parts)),
        )


@dataclass
class Claim:
    """The checkable content of one sentence (markers already taken out)."""

    words: set[str]  # content words, unstemmed
    stems: set[str]
    numbers: set[str]
    strict_words: set[str]  # words of quantity or certainty (STRICT_WORDS) it uses
    quotes: list[str]
    urls: list[str]
    systems: set[str]
    names: set[str]
    counts: set[str] = field(default_factory=set)  # numbers that count a list's items
    absence: bool = False  # it says what the passages do not cover (assistant: is_absence)
    scope_talk: bool = False  # it says what the passages do and do not cover (SCOPE_TALK)

    @classmethod
    def of(cls, sentence: str, library: LibraryWords) -> Claim:
        text = normalize(sentence)
        urls = [u.rstrip(".,;:!?") for u in _URL.findall(text)]
        bare = _URL.sub(" ", text)
        words = _words(bare)
        content = {w for w in words if w not in STOP and w not in DISCOURSE and len(w) > 1}
        names = set()
        openers = _openers(bare)
        for m in _CAP.finditer(bare):
            token = m.group(0).strip("'-")
            token = token[:-2] if token.endswith("'s") else token
            low = token.lower()
            acronym = sum(c.isalpha() for c in token) >= 2 and token.isupper()
            parts = [p for p in low.split("-") if p]
            ordinary = low in library.common or all(
                p in library.common or _stem(p) in library.stems for p in parts
            )
            if not ordinary and m.start() in openers:
                ordinary = plain_word(token)  # capitalised only because it opens the sentence
            if (acronym or not ordinary) and low not in library.allowed_names:
                names.add(low)
        systems = set(find_systems(bare))
        # A school system's name and its aliases ("LAUSD" for "Los Angeles USD") are checked
        # as systems, against the systems the passage names, not again as unknown names.
        names -= _alias_words(systems)
        return cls(
            content,
            set(stemmer().stemWords(sorted(content))),
            numbers(_STEP_LABEL.sub(" ", bare, count=1), skip_one=True),
            {w for w in words if w in STRICT_WORDS},
            [q for q in _QUOTE.findall(bare) if _WORD.search(q)],
            urls,
            systems,
            names,
            {str(n) for n in counts(bare)},
            is_absence(sentence),
            bool(SCOPE_TALK.search(bare)),
        )

    @property
    def empty(self) -> bool:
        return not (self.stems or self.numbers or self.quotes or self.urls or self.names)

    def share(self, support: Support) -> float:
        """The share of its content words (stemmed) that `support` has."""
        return len(self.stems & support.stems) / len(self.stems) if self.stems else 1.0

    def facts_problem(self, support: Support) -> str | None:
        """Why `support` does not back this claim's facts (numbers, words of quantity,
        links, quotations, school systems, names), or None: its wording is not judged."""
        return self.problem(support, 0.0)

    def problem(
        self, support: Support, minimum: float, meaning: Callable[[], float] | None = None
    ) -> str | None:
        """Why `support` does not back this claim, or None when it does. `meaning`, when
        given, is how close the sentence is to the passages' sentences, asked only when the
        words alone fall short."""
        if self.absence and not self.quotes and not self.urls:
            return None  # "The passages do not say ...": honest scope, no claim to check
        for n in sorted(self.numbers):
            if n in support.numbers or (not n.endswith("%") and n + "%" in support.numbers):
                continue
            if n in self.counts and n.isdigit() and int(n) in support.lists:
                continue  # "the seven tensions" over a passage that lists seven
            if n in self.counts and n in support.document_numbers:
                continue  # a count of items its document gives ("seven spectrums")
            return f"the number {n} is not in the cited passage"
        for w in sorted(self.strict_words):
            if w not in support.words:
                return f"the word “{w}” is not in the cited passage"
        for url in self.urls:
            if url not in support.text:
                return f"the link {url} is not in the cited passage"
        for quote in self.quotes:
            if not any(_verbatim(quote, text) for text in support.quote_texts):
                return f"the quotation “{quote}” is not verbatim in the cited passage"
        missing = sorted(self.systems - support.systems)
        if missing:
            return f"it names {', '.join(missing)}, which the cited passage does not"
        unknown = sorted(self.names - support.words)
        if unknown:
            return f"it names “{', '.join(unknown)}”, which the cited passage does not"
        if self.stems and not self.scope_talk and minimum > 0:
            share = self.share(support)
            if len(self.stems) <= SHORT_CLAIM and minimum == CITED_MIN:
                minimum = SHORT_MIN  # one unsupported word is most of a short claim
            if share < minimum:
                if meaning is not None and share >= MEANING_FLOOR and meaning() >= MEANING_MIN:
                    return None
                return f"the cited passage does not support its wording ({share:.0%} of its words)"
        return None


SPLICE_GAP = 400  # an ellipsis stands for at most this many characters left out
TERM_WORDS = 6  # a quoted title or term this short matches in any case, singular or plural


RUN = (
    4  # words in a row that, taken from the conversation and found in no passage, are not evidence
)


def _runs(text: str) -> set[tuple[str, ...]]:
    words = [w for w in _words(text) if w not in STOP]
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


@lru_cache(maxsize=4096)
def _passage_runs(chunk: Chunk) -> frozenset[tuple[str, ...]]:
    return frozenset(_runs(_support_of(chunk).text))


@lru_cache(maxsize=4096)
def _support_of(chunk: Chunk) -> Support:
    """A passage's support, read once per passage (the instruction filter and stemming of
    a whole section cost far more than checking a sentence against them)."""
    return Support.of(chunk)


def _verbatim(quote: str, text: str) -> bool:
    """Every piece of the quotation (split at ellipses) occurs in `text` as written, in
    order and close together (an ellipsis leaves words out; it does not join passages). A
    short quoted term or title ("A la Carte") matches in any case and number."""
    pieces = [p.strip(" .,;:!?'\"-") for p in re.split(r"\.\.\.|…", quote)]
    pieces = [p for p in pieces if p]
    if len(pieces) == 1 and len(pieces[0].split()) <= TERM_WORDS:
        term, low = _term(pieces[0]), _term(text)
        if term and term in low:
            return True
    at = 0
    for i, piece in enumerate(pieces):
        found = -1
        for form in (piece, piece[0].swapcase() + piece[1:]):
            where = text.find(form, at)
            if where != -1 and (found == -1 or where < found):
                found = where
        if found == -1 or (i and found - at > SPLICE_GAP):
            return False
        at = found + len(piece)
    return True


def _term(text: str) -> str:
    """A term as compared: lower case, hyphens as spaces, each word's plural "s" dropped."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("-", " "))
    return " " + " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words) + " "


def split_units(text: str) -> list[str]:
    """Split one line into sentences; each keeps its trailing space, so ''.join() == text.

    A boundary is end punctuation (plus closing quotes and any [n] markers after it) and
    space before a capital or digit; not after an abbreviation, not inside open quotes.
    """
    units, start = [], 0
    for m in _END.finditer(text):
        end = m.end()
        if end >= len(text) or not _NEXT.match(text, end):
            continue
        before = text[start : m.start()]
        last = before.rsplit(None, 1)[-1].lower() if before.strip() else ""
        if last.rstrip(".") in _ABBREV or len(last) == 1:
            continue
        piece = normalize(text[start:end])
        if piece.count('"') % 2:
            continue
        units.append(text[start:end])
        start = end
    if start < len(text):
        units.append(text[start:])
    return units


HELD = "held for the language model to re-read against its passages"
REREAD_REJECTED = "the language model, re-reading the cited passage, found it does not say this"


@dataclass(frozen=True)
class Borderline:
    """A cited sentence whose facts check out but whose wording leaves its support in doubt:
    its text (markers as the model wrote them) and the passage numbers it is checked
    against."""

    text: str
    cited: tuple[int, ...]

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        return self.text, self.cited

    @staticmethod
    def key_of(text: str, cited: Sequence[int]) -> tuple[str, tuple[int, ...]]:
        return " ".join(text.split()), tuple(cited)


@dataclass
class _Sentence:
    text: str  # sanitized, as the model wrote it
    markers: list[int]  # every marker number, valid or not
    valid: list[int]  # the ones that name a passage, in order, without repeats
    claim: Claim


@dataclass
class AnswerChecker:
    """Checks a model's answer as it streams in; `feed` returns the text that is safe to show.

    A sentence without a marker is read the way a reader reads it: covered by the next
    citation on its line, else by the last one of its paragraph or list; it is checked
    against those passages, and failing that, against the rule for uncited sentences.

    After `finish`: `text` is the checked answer, `cited` the passages its markers now point
    to ([1] is cited[0]), `removed_markers` and `unsupported` what was taken out, and
    `cited_sentences` how many cited sentences survived.
    """

    passages: Sequence[Chunk]
    library: LibraryWords
    index: LoadedIndex | None = None  # its embedder checks meaning where words do not overlap
    # The conversation the model saw (earlier questions and answers): never evidence. A
    # sentence that repeats a run of its words found in no passage is removed.
    history: str = ""
    removed_markers: list[int] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    cited_sentences: int = 0
    # Every cited sentence judged: (text, the passage numbers it cites, kept); the verifier's
    # labelled set is read from it (eval/verifier.py).
    judged: list[tuple[str, tuple[int, ...], bool]] = field(default_factory=list)
    # The model's verdicts on borderline sentences (see BORDER), keyed by `Borderline.key`:
    # a verdict decides its sentence; a borderline sentence without one is judged by words.
    verdicts: Mapping[tuple[str, tuple[int, ...]], bool] = field(default_factory=dict)
    # When set, a borderline sentence without a verdict is held back (not shown) and listed
    # in `borderline`, for the model to re-read before the answer is checked again.
    holding: bool = False
    borderline: list[Borderline] = field(default_factory=list)
    # Sentence vectors embedded for the meaning check, by text; `again` hands them on, so a
    # second check of the same answer embeds nothing twice.
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self._support = [copy(_support_of(c)) for c in self.passages]
        self._history_runs: set[tuple[str, ...]] = set()
        if self.history.strip():
            said = _runs(normalize(self.history))
            for chunk in self.passages:
                said -= _passage_runs(chunk)
            self._history_runs = said
        if self.index is not None:
            for support, chunk in zip(self._support, self.passages, strict=True):
                support.document_numbers = document_counts(self.index, chunk.doc_id)
        self._numbering: dict[int, int] = {}
        self._buffer = ""
        self._out: list[str] = []
        self._pending = ""  # a heading or blank line shown only once content follows it
        self._heading_pending = False
        self._prefix: str | None = None  # the current line's list prefix, once it is known
        self._kept_on_line = 0
        self._held: list[_Sentence] = []  # uncited sentences waiting for the line's next marker
        self._context: list[int] = []  # the last citation of the current paragraph or list

    # -- results -------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return "".join(self._out).strip()

    @property
    def cited(self) -> list[Chunk]:
        order = sorted(self._numbering, key=self._numbering.get)
        return [self.passages[n - 1] for n in order]

    # -- streaming -----------------------------------------------------------------------
    def feed(self, delta: str) -> str:
        self._buffer += delta.replace("\r\n", "\n").replace("\r", "\n")
        shown = len(self._out)
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._finish_line(line)
        self._partial_line()
        return "".join(self._out[shown:])

    def finish(self) -> str:
        shown = len(self._out)
        if self._buffer:
            self._finish_line(self._buffer)
            self._buffer = ""
        return "".join(self._out[shown:])

    def check(self, answer: str) -> str:
        """Check a whole answer at once (the same result as feeding it in pieces)."""
        self.feed(answer)
        self.finish()
        return self.text

    def again(
        self, answer: str, verdicts: Mapping[tuple[str, tuple[int, ...]], bool]
    ) -> AnswerChecker:
        """A fresh check of the same `answer` against the same passages, the model's
        `verdicts` deciding the borderline sentences (none held back)."""
        checker = AnswerChecker(
            self.passages, self.library, self.index, self.history, verdicts=verdicts,
            vectors=self.vectors,
        )  # fmt: skip
        checker.check(answer)
        return checker

    # -- lines -----------------------------------------------------------------------------
    def _partial_line(self) -> None:
        text = self._buffer
        if self._prefix is None:
            if not text.strip() or HEADING.match(text) or text.lstrip().startswith("|"):
                return  # wait for the whole line
            m = PREFIX.match(text)
            prefix, body = (m.group(0), text[m.end() :]) if m else ("", text)
        else:
            prefix, body = self._prefix, text
        units = split_units(body)
        if len(units) < 2:
            return
        self._prefix = prefix
        for unit in units[:-1]:
            self._take(unit)
        self._buffer = units[-1]

    def _finish_line(self, line: str) -> None:
        if self._prefix is None:
            if not line.strip():
                self._blank()
                return
            if HEADING.match(line):
                self._heading(line.strip())
                return
            if line.lstrip().startswith("|"):  # a table row: one unit
                prefix, units = "", [line.strip()]
            else:
                m = PREFIX.match(line)
                prefix, body = (m.group(0), line[m.end() :]) if m else ("", line)
                units = split_units(body)
        else:
            prefix, units = self._prefix, split_units(line)
        self._prefix = prefix
        for unit in units:
            self._take(unit)
        for held in self._held:
            self._settle(held, [self._context])
        self._held = []
        if self._kept_on_line:
            self._out.append("\n")
        self._prefix, self._kept_on_line = None, 0

    def _blank(self) -> None:
        self._context = []
        tail = ("".join(self._out[-2:]) + self._pending)[-2:]
        if (self._out or self._pending) and tail != "\n\n":
            self._pending += "\n"

    def _heading(self, line: str) -> None:
        self._context = []
        hashes, _, title = line.partition(" ")
        sentence = self._parse(title)
        if sentence is None:
            return
        if sentence.valid:
            reason = self._problem(sentence.claim, sentence.valid, sentence.text)
        else:
            reason = self._uncited_problem(sentence.claim, f"{hashes} {sentence.text}")
        if reason:
            self._reject(sentence, reason)
            return
        if self._heading_pending:  # the previous heading had nothing under it
            self._pending = "\n" if self._out else ""
        elif self._out and not self._pending:
            self._pending = "\n"
        self._pending += f"{hashes} {self._render(sentence)}\n"
        self._heading_pending = True

    # -- sentences ---------------------------------------------------------------------------
    def _parse(self, raw: str) -> _Sentence | None:
        text = sanitize(raw).strip()
        if not text:
            return None
        markers = [n for m in MARKER.finditer(text) for n in parse_marker(m.group(1))]
        valid = list(dict.fromkeys(n for n in markers if 1 <= n <= len(self.passages)))
        for n in markers:
            if n not in valid and n not in self.removed_markers:
                self.removed_markers.append(n)
        return _Sentence(text, markers, valid, Claim.of(MARKER.sub(" ", text), self.library))

    def _take(self, unit: str) -> None:
        sentence = self._parse(unit)
        if sentence is None:
            return
        if not sentence.valid:
            self._held.append(sentence)
            return
        reason = self._problem(sentence.claim, sentence.valid, sentence.text)
        self.judged.append((sentence.text, tuple(sentence.valid), reason is None))
        held, self._held = self._held, []
        for h in held:
            self._settle(h, [sentence.valid if not reason else [], self._context])
        if reason:
            self._reject(sentence, reason)
            return
        self.cited_sentences += 1
        self._context = sentence.valid
        self._emit(sentence)

    def _settle(self, sentence: _Sentence, covering: list[list[int]]) -> None:
        """An uncited sentence: kept if a nearby citation or the uncited rule supports it."""
        for cited in covering:
            if cited and self._problem(sentence.claim, cited, sentence.text) is None:
                self._emit(sentence)
                return
        reason = self._uncited_problem(sentence.claim, sentence.text)
        if reason:
            self._reject(sentence, reason)
        else:
            self._emit(sentence)

    def _emit(self, sentence: _Sentence) -> None:
        text = self._render(sentence)
        if self._kept_on_line == 0:
            self._out.append(self._pending + (self._prefix or "") + text)
            self._pending, self._heading_pending = "", False
        else:
            self._out.append(" " + text)
        self._kept_on_line += 1

    def _reject(self, sentence: _Sentence, reason: str) -> None:
        text = " ".join(sentence.text.split())
        self.unsupported.append(Unsupported(text, tuple(sentence.markers), reason))

    def _render(self, sentence: _Sentence) -> str:
        """The sentence with its markers renumbered in order of first use (bad ones dropped)."""

        def renumber(m: re.Match) -> str:
            ns = [n for n in parse_marker(m.group(1)) if n in sentence.valid]
            return "".join(f"[{self._final(n)}]" for n in dict.fromkeys(ns))

        out = MARKER.sub(renumber, sentence.text)
        out = re.sub(r"[ \t]+(?=[.,;:!?](?:\s|$))", "", out)
        return re.sub(r"[ \t]{2,}", " ", out).strip()

    def _final(self, n: int) -> int:
        return self._numbering.setdefault(n, len(self._numbering) + 1)

    def _problem(self, claim: Claim, cited: list[int], text: str = "") -> str | None:
        if claim.empty:
            return None
        if self._history_runs and _runs(normalize(MARKER.sub(" ", text))) & self._history_runs:
            return "it repeats the conversation, which is not evidence, not a passage"
        support = Support.merge([self._support[n - 1] for n in cited])
        meaning = (lambda: self.closeness(text, cited)) if text and self.index else None
        reason = claim.problem(support, CITED_MIN, meaning) or self._clause_problem(
            text, support, cited
        )
        if not text or not (self.holding or self.verdicts):
            return reason
        doubtful = reason is not None or (
            claim.stems and not claim.scope_talk and claim.share(support) < BORDER
        )
        if not doubtful or claim.facts_problem(support) is not None:
            return reason  # its words settle it, or a fact fails: no reading changes that
        key = Borderline.key_of(text, cited)
        if key in self.verdicts:
            return None if self.verdicts[key] else REREAD_REJECTED
        if self.holding:
            if all(b.key != key for b in self.borderline):
                self.borderline.append(Borderline(*key))
            return HELD
        return reason

    def _clause_problem(self, text: str, support: Support, cited: list[int]) -> str | None:
        """A sentence the passages support as a whole may still add a clause they do not
        ("..., because principals lacked time"): each clause joined by a connective must
        share CLAUSE_MIN of its words with the cited passages or be as close in meaning as
        CLAUSE_MEANING. A clause about what the passages cover is not checked."""
        clauses = [c for c in _CLAUSE.split(MARKER.sub(" ", text)) if c and c.strip()]
        if len(clauses) < 2:
            return None
        for clause in clauses:
            claim = Claim.of(clause, self.library)
            if len(claim.stems) < CLAUSE_STEMS or claim.absence or claim.scope_talk:
                continue
            if len(claim.stems & support.stems) / len(claim.stems) >= CLAUSE_MIN:
                continue
            if self.index is not None and self.closeness(clause, cited) >= CLAUSE_MEANING:
                continue
            return f"the cited passage does not support its clause “{' '.join(clause.split())}”"
        return None

    def closeness(self, text: str, cited: list[int]) -> float:
        """The highest cosine between `text` and a sentence of the cited passages, with the
        index's own embedder (its stored sentence vectors)."""
        assert self.index is not None
        text = MARKER.sub(" ", text)
        vector = self.vectors.get(text)
        if vector is None:
            vector = self.vectors[text] = self.index.retriever.embedder.embed_batch([text])[0]
        best = 0.0
        for n in cited:
            _, vectors = self.index.sentences(self.passages[n - 1])
            if len(vectors):
                best = max(best, float((vectors @ vector).max()))
        return best

    def _uncited_problem(self, claim: Claim, text: str = "") -> str | None:
        """A sentence no citation covers may only connect: no facts of its own. A heading
        with none ("**What the library advises instead**") is kept; so is a statement of
        what the passages do not give that quotes only terms a retrieved passage holds
        ("The passages give no such figure for “Prix Fixe”")."""
        if claim.empty:
            return None
        facts = claim.names or claim.systems or claim.numbers or claim.strict_words
        if claim.urls or (claim.quotes and not (claim.absence or claim.scope_talk)):
            return "it quotes or links without citing a passage"
        for quote in claim.quotes:
            if not any(_verbatim(quote, t) for s in self._support for t in s.quote_texts):
                return f"the quotation “{quote}” is not verbatim in any passage"
        if claim.quotes and not facts:
            return None
        if not facts and signpost(text) and len(claim.stems) <= SIGNPOST_STEMS:
            return None
        minimum = 0.5 if len(claim.stems) <= 3 else UNCITED_MIN
        if any(claim.problem(s, minimum) is None for s in self._support):
            return None
        if not facts and len(claim.stems) <= 4 and claim.stems <= self.library.stems:
            return None  # a short connecting phrase in the library's own vocabulary
        return "it cites no passage, and no retrieved passage supports it"


COUNT_MAX = 12


def document_counts(index: LoadedIndex, doc_id: str) -> set[str]:
    """The small numbers (1 to COUNT_MAX) a document states, in digits or words; kept per
    build."""

    def build(index: LoadedIndex) -> dict[str, set[str]]:
        out = {}
        for doc, record in index.documents.items():
            found = numbers(record.get("text") or "")
            out[doc] = {n for n in found if n.isdigit() and 1 <= int(n) <= COUNT_MAX}
        return out

    return index.derived("document_counts", build).get(doc_id, set())


def library_words(index: LoadedIndex) -> LibraryWords:
    """The library's vocabulary and own names for a loaded build, built once per build."""

    def build(index: LoadedIndex) -> LibraryWords:
        names = [
            name
            for d in index.documents.values()
            for name in (
                d.get("title"),
                d.get("publisher"),
                *(d.get("authors") or ()),
                *(d.get("aliases") or ()),
            )
            if name
        ]
        return LibraryWords.build((c.text for c in index.chunks), names)

    return index.derived("library_words", build)
