"""Words and sentences, read one way everywhere: the tokenizer, the per-thread stemmer, the
sentence splitter and word rarity (TermStats) that retrieval, scope, composing and checking
all share, so that a word counts the same in each of them.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable

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


# -- one spelling for matching --------------------------------------------------------------
_PLAIN = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "\u00a0": " "}
)


def squash(text: str) -> str:
    """Runs of white space (non-breaking spaces too) as one space, ends trimmed."""
    return " ".join(text.split())


def plain(text: str) -> str:
    """Curly quotes, dashes and non-breaking spaces as their plain ASCII forms."""
    return text.translate(_PLAIN)


def fold(text: str) -> str:
    """Plain and case-folded, so a search for "don't" finds "Don’t"."""
    return plain(text).casefold()


def normalize(text: str) -> str:
    """One spelling for comparing an answer with its sources: NFKC, plain quotes and dashes,
    no Markdown escapes or emphasis, single spaces."""
    text = plain(unicodedata.normalize("NFKC", text))
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>~$&:=])", r"\1", text)
    text = re.sub(r"[*_`]+", "", text)
    return squash(text)
