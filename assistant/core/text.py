"""Sentence-level evidence: which sentences of a passage answer a question, and whether the
library answers it at all.

The in-scope test is deliberately conservative: a question counts as answered only when
one passage window (a sentence and its neighbours) covers most of what the question asks
about, weighted by how rare each word is in the library, and, when the question asks for
a price, a rate or a quantity, when that window actually contains one. Dense similarity
alone cannot tell "what did Fulton do?" from "how much did Fulton's scores rise?".
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:\.\d+)?%?")
_ABBREV = r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!e\.g\.)(?<!i\.e\.)"
SENTENCE = re.compile(
    _ABBREV + r"(?<=[.!?])\s+(?=[“\"(]?[A-Z0-9])|(?<=[.!?][”’\"])\s+(?=[“\"(]?[A-Z0-9])|\n+"
)

STOP = set(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "you",
        "your",
        "how",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "may",
        "might",
        "must",
        "shall",
        "me",
        "my",
        "us",
        "about",
        "into",
        "than",
        "then",
        "there",
        "these",
        "those",
        "so",
        "if",
        "not",
        "no",
        "yes",
        "any",
        "all",
        "some",
        "more",
        "most",
        "other",
        "such",
        "only",
        "own",
        "same",
        "too",
        "very",
        "just",
        "also",
        "please",
        "tell",
        "give",
        "get",
        "show",
        "want",
        "like",
        "know",
        "say",
        "said",
        "says",
        "anything",
        "something",
        "everything",
        "anyone",
        "ok",
        "okay",
        "look",
        "both",
        "ways",
        "library",
        "paper",
        "white",
        "document",
        "article",
        "blog",
        "post",
        "according",
        "much",
        "many",
        "one",
        "two",
        "three",
    ]
)
# Words so common in this library that they say nothing about what is asked.
GENERIC = set(
    [
        "district",
        "districts",
        "school",
        "schools",
        "system",
        "systems",
        "student",
        "students",
        "teacher",
        "teachers",
        "leader",
        "leaders",
        "personalized",
        "personalization",
        "learning",
        "blended",
        "implementation",
        "implement",
        "scale",
        "scaling",
        "approach",
        "approaches",
        "example",
        "examples",
        "others",
        "other",
        "did",
        "do",
    ]
)
# Attributes a question can ask for that the library must state explicitly to answer.
ATTRIBUTES = re.compile(
    r"\b(cost\w*|price\w*|pay|paid|spend\w*|spent|salar\w*|tuition|budget\w*|fee\w*|licen[cs]\w*|"
    r"scores?|graduation|rates?|test results?|salary|dollars?|\$)\b",
    re.IGNORECASE,
)
# "Which LMS vendor should we buy?": the library describes how districts chose partners, but
# it never rates or recommends a product, so such a question is not one it answers.
PRODUCT = r"(?:vendors?|products?|platforms?|LMS|software|apps?|brands?)"
PRODUCT_PICK = re.compile(
    rf"\b(?:which|what)\b[^?.]{{0,40}}\b{PRODUCT}\b[^?.]{{0,40}}\b(?:should|to (?:buy|choose|pick|"
    rf"use|purchase)|is (?:the )?best|do you recommend)\b|\b(?:best|recommend\w*|top-rated)\b"
    rf"[^?.]{{0,30}}\b{PRODUCT}\b",
    re.IGNORECASE,
)
QUANTITY = re.compile(
    r"\b(how (much|many|long|big)|what (share|percent\w*|proportion|number))\b", re.IGNORECASE
)


_local = threading.local()


def stemmer():
    """One Snowball stemmer per thread: the app composes and checks answers for several
    users at once, and a stemmer instance is not safe to share between threads."""
    if not hasattr(_local, "stemmer"):
        import Stemmer

        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


def terms(text: str, drop_generic: bool = False) -> list[str]:
    """Lower-cased stems of the content words of `text`."""
    words = [w.lower().strip("'’-") for w in WORD.findall(text)]
    words = [w for w in words if w and w not in STOP and not (drop_generic and w in GENERIC)]
    return stemmer().stemWords(words)


def split_sentences(text: str) -> list[str]:
    """Sentences (and list items) of a passage, each a verbatim substring of it."""
    out = []
    for part in SENTENCE.split(text):
        part = part.strip()
        if part and len(part) > 1:
            out.append(part)
    return out


class TermStats:
    """Inverse document frequency over the library's passages."""

    def __init__(self, texts: Iterable[str]):
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            df.update(set(terms(text)))
        self.n = max(n, 1)
        self.df = df

    def idf(self, term: str) -> float:
        return math.log(1 + self.n / (1 + self.df.get(term, 0)))


_NAME = re.compile(r"(?<![\w’'-])(?:[A-Z]{2,}s?|[A-Z][a-z]+(?:[A-Z][a-z]+)*)(?![\w’'-])")


def unknown_names(question: str, stats: TermStats, known: Iterable[str] = ()) -> list[str]:
    """Names and acronyms in the question that occur nowhere in the library.

    "Which LMS vendor…", "What does an Edgenuity licence cost…", "What did Denver do?": when
    the thing asked about is absent from every passage, no passage can answer for it. Only
    capitalised words after the first word, and acronyms, count; everyday words a leader
    uses in a paraphrase ("downtown", "cop-out") never do.
    """
    known_low = {k.lower() for k in known}
    first = re.match(r"\W*\w+", question)
    start = first.end() if first else 0
    found = []
    for m in _NAME.finditer(question):
        word = m.group(0)
        if m.start() < start and not word.isupper():
            continue
        low = word.lower()
        if low in STOP or low in known_low or any(low in k.split() for k in known_low):
            continue
        stems = terms(word)
        if stems and all(stats.df.get(t, 0) == 0 for t in stems):
            found.append(word)
    return found


@dataclass
class Window:
    chunk_id: str
    sentence: str
    coverage: float
    has_attribute: bool
    has_number: bool


def best_windows(
    question: str, passages: list[tuple[str, str, str]], stats: TermStats, top: int = 5
) -> list[Window]:
    """Score every sentence of the passages against the question.

    Each sentence is read with its neighbours and with its passage's context (`extra`: the
    heading and the names of the systems it is about), as a reader would read it.
    """
    q_terms = set(terms(question, drop_generic=True))
    if not q_terms:
        q_terms = set(terms(question))
    weights = {t: stats.idf(t) for t in q_terms}
    total = sum(weights.values()) or 1.0
    asked_attr = bool(ATTRIBUTES.search(question))
    windows: list[Window] = []
    for chunk_id, text, extra in passages[:top]:
        sentences = split_sentences(text)
        stems = [set(terms(s)) for s in sentences]
        shared = set(terms(extra))
        for i, sentence in enumerate(sentences):
            context = (
                stems[i]
                | (stems[i - 1] if i else set())
                | (stems[i + 1] if i + 1 < len(stems) else set())
            )
            context |= shared
            covered = sum(w for t, w in weights.items() if t in context)
            near = " ".join(sentences[max(0, i - 1) : i + 2])
            windows.append(
                Window(
                    chunk_id,
                    sentence,
                    covered / total,
                    bool(ATTRIBUTES.search(near)) if asked_attr else True,
                    bool(re.search(r"\d", near)),
                )
            )
    windows.sort(key=lambda w: -w.coverage)
    return windows


def library_answers(question: str, windows: list[Window], top_dense: float) -> bool:
    """Decide whether the retrieved passages answer the question (see module docstring)."""
    if not windows:
        return False
    if ATTRIBUTES.search(question):
        # A price, a rate, a score: only a passage that states one (a number) answers it.
        return any(w.has_attribute and w.has_number and w.coverage >= 0.5 for w in windows)
    return top_dense >= 0.30 or windows[0].coverage >= 0.5
