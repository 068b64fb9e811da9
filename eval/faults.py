"""Count an answer's mechanical faults with a script, not a grader.

    python -m eval.faults [--json] [FILE ...]         ask every question (LBW_STORE_DIR)
    python -m eval.faults --answers OUT.json          count faults in `lbw ask --batch --json`

Four counts, over the answer and its "More from the library" text:
- **district**: a bullet labelled with one school system (`- **Dallas ISD, TX** ...`) shows a
  sentence that is not that system's own: every sentence of the bullet must come from the
  library and be about the named system. A sentence is about the systems it names; one that
  names none is about the system its passage named last in the same paragraph (none before
  the first name, when the paragraph is about several). A catalog example's pull quote
  belongs to its leader's system.
- **quotes**: a quotation that is not one verbatim quotation from the library: an opening
  mark without its close (or the reverse), or “…” whose text, marks included, occurs in no
  passage (spliced from two quotations, cut short, or reworded).
- **dangling**: an [n] marker with no citation n.
- **non_prose**: text that is not prose from the library: survey captions ("Quick Facts:",
  "(n=86)", "Participant rating"), internal field names (lean_b, passage_id), web and
  share boilerplate, the acknowledgements.

The rules are written here independently of the composer, so the composer cannot pass by
sharing a mistake with its checker. Its trade-off: a label is matched to a system by the
product's alias list (assistant.core.domain), the one place names are spelled.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.domain import find_systems
from assistant.core.text import split_sentences, squash

EVAL_DIR = Path(__file__).resolve().parent
DEFAULT_FILES = (
    EVAL_DIR / "devset.jsonl",
    EVAL_DIR / "heldout.jsonl",
    EVAL_DIR / "blind" / "W1.jsonl",
    EVAL_DIR / "blind" / "W2.jsonl",
)
KINDS = ("district", "quotes", "dangling", "non_prose")

BULLET = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+\*\*(?P<label>.+?)\*\*(?P<body>.*)$")
MARKER = re.compile(r"(?<!\\)\[(\d{1,3})\]")
ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
NON_PROSE = re.compile(
    r"Quick Facts|\(n\s*=\s*\d+\)|Participant rating|\blean_[ab]\b|\bpassage_ids?\b|"
    r"\btop_priority\b|\bdevoted_resources\b|\bpattern_passage_ids\b|www\.|https?://|"
    r"\S+@\S+\.\w+|Please Share|Web Version|could not have been written without|"
    r"A special thanks|Image credit|The image below",
    re.IGNORECASE,
)


@dataclass
class Faults:
    """Each fault as (kind, the offending text)."""

    found: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.found.append((kind, text))

    def counts(self) -> dict[str, int]:
        return {k: sum(1 for kind, _ in self.found if kind == k) for k in KINDS}


def plain_markdown(text: str) -> str:
    """Markdown as read: escapes undone, emphasis marks dropped."""
    text = ESCAPE.sub(r"\1", text)
    return re.sub(r"(?<!\*)\*{1,2}(?!\*)|(?<![\w])_{1,2}|_{1,2}(?![\w])", "", text)


class Library:
    """What the checker knows of the library: every passage's text, and each school
    system's own sentences and names."""

    def __init__(self, texts: Iterable[str], examples: Iterable[dict[str, Any]]):
        self.texts = [squash(t) for t in texts]
        self.own: dict[str, set[str]] = {}  # system -> its sentences (squashed)
        self.names: dict[str, set[str]] = {}  # system -> leaders' names, example titles
        for text in self.texts:
            self._attribute(text)
        for e in examples:
            self._attribute(squash(e.get("text") or ""), single=_names(e))
            owner = _names(e, leader=True)
            for system in owner:
                if e.get("quote"):
                    self.own.setdefault(system, set()).add(squash(e["quote"]))
            for system in _names(e):
                self.names.setdefault(system, set()).update(
                    n for n in (e.get("leader"), e.get("title"), e.get("system")) if n
                )

    @classmethod
    def of_index(cls, index) -> Library:
        texts = [c.text for c in index.chunks] + [c.text for c in index.shown.values()]
        return cls(texts, index.catalog.get("examples", []))

    def _attribute(self, text: str, single: Sequence[str] = ()) -> None:
        for paragraph in re.split(r"\n\s*\n|\n(?=\s*[-•\d])", text):
            current: list[str] = list(single) if len(single) == 1 else []
            for sentence in sentences(paragraph):
                named = find_systems(sentence)
                if named:
                    current = named
                for system in current:
                    self.own.setdefault(system, set()).add(squash(sentence))

    def verbatim(self, span: str) -> bool:
        span = squash(span)
        return any(span in t for t in self.texts)

    def belongs(self, sentence: str, system: str) -> bool:
        sentence = squash(sentence)
        return any(sentence in own for own in self.own.get(system, ()))


_CLOSED_TWICE = re.compile(r"(?<=[.!?][”’\"][”’\"])\s+(?=[“\"(]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    """Sentences as a reader takes them: one still inside an open quotation runs on to the
    sentence that closes it (“A. B,” says C. is one)."""
    out: list[str] = []
    # A sentence that ends inside two closing marks (“… adult centered?’”) ends there too.
    pieces = [p for s in split_sentences(text) for p in _CLOSED_TWICE.split(s) if p]
    for sentence in pieces:
        if out and out[-1].count("“") > out[-1].count("”"):
            out[-1] = f"{out[-1]} {sentence}"
        else:
            out.append(sentence)
    return out


def _names(example: dict[str, Any], leader: bool = False) -> list[str]:
    """The systems an example is about, or (leader=True) the one its leader speaks for."""
    if leader:
        found = find_systems(example.get("leader_system") or "") or find_systems(
            example.get("system") or ""
        )
        return found[:1]
    return list(example.get("systems") or [])


def check(answer: str, cited: Iterable[int], library: Library | None) -> Faults:
    """The faults of one answer's Markdown (core and "More" together) whose citations are
    numbered `cited` (only its markers, without a library)."""
    faults = Faults()
    numbers = set(cited)
    for m in MARKER.finditer(answer):
        if int(m.group(1)) not in numbers:
            faults.add("dangling", m.group(0))
    if library is None:
        return faults
    text = MARKER.sub("", answer)
    for line in text.splitlines():
        read = plain_markdown(line)
        if NON_PROSE.search(read):
            faults.add("non_prose", read.strip())
        _check_quotes(read, library, faults)
        m = BULLET.match(line)
        if m:
            _check_bullet(m.group("label"), m.group("body"), library, faults)
    return faults


def _check_quotes(line: str, library: Library, faults: Faults) -> None:
    start = None
    for i, ch in enumerate(line):
        if ch == "“":
            if start is not None:
                faults.add("quotes", "unclosed: " + line[start : i + 1])
            start = i
        elif ch == "”":
            if start is None:
                faults.add("quotes", "closing mark without its opening: " + line[: i + 1])
                continue
            quote = line[start : i + 1]
            start = None
            if not library.verbatim(quote):
                faults.add("quotes", "not verbatim: " + quote)
    if start is not None:
        faults.add("quotes", "unclosed: " + line[start:])
    straight = [m.start() for m in re.finditer('"', line)]
    if len(straight) % 2:
        faults.add("quotes", "unclosed: " + line)
    for a, b in zip(straight[::2], straight[1::2], strict=False):
        if not library.verbatim(line[a : b + 1]):
            faults.add("quotes", "not verbatim: " + line[a : b + 1])


def _check_bullet(label: str, body: str, library: Library, faults: Faults) -> None:
    systems = find_systems(plain_markdown(label))
    if len(systems) != 1:
        return
    system = systems[0]
    body = plain_markdown(body)
    for name in sorted(library.names.get(system, ()), key=len, reverse=True):
        body = body.replace(f"— {name}", " ").replace(f"({name})", " ")
    for sentence in sentences(body):
        sentence = sentence.strip(" —–-:;,()")
        if len(sentence.split()) <= 2:
            continue
        if not library.belongs(sentence, system):
            faults.add("district", f"{system}: {sentence}")


# -- running ----------------------------------------------------------------------------
def count_answers(answers: Iterable[dict[str, Any]], library: Library) -> dict[str, Any]:
    """Totals over `lbw ask --json` documents, and every fault with its question."""
    totals = dict.fromkeys(KINDS, 0)
    found = []
    n = 0
    for doc in answers:
        n += 1
        text = doc.get("answer", "") + "\n\n" + (doc.get("more") or "")
        cited = [c["n"] for c in doc.get("citations", [])]
        # A refusal is the product's own message, not library text: only its markers count.
        faults = check(text, cited, library if doc.get("in_scope", True) else None)
        for kind, value in faults.counts().items():
            totals[kind] += value
        found += [{"question": doc.get("question"), "kind": k, "text": t} for k, t in faults.found]
    return {"answers": n, "counts": totals, "faults": found}


def ask_all(files: Sequence[Path]) -> tuple[list[dict[str, Any]], Library]:
    from assistant.core.settings import Settings
    from assistant.service import load_assistant
    from eval.questions import load_questions

    bot = load_assistant(Settings.from_env())
    docs = []
    for path in files:
        for q in load_questions(path):
            docs.append({"question": q.question, **bot.ask(q.question, list(q.history)).to_dict()})
    return docs, Library.of_index(bot.index)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="question files (default: the old sets and the tune split)",
    )
    parser.add_argument("--answers", type=Path, help="`lbw ask --batch --json` output to check")
    parser.add_argument("--json", action="store_true", help="print every fault as JSON")
    args = parser.parse_args(argv)
    if args.answers:
        from assistant.core.settings import Settings
        from assistant.embedding.embedder import Embedder
        from assistant.retrieval.library import open_index

        class _NoQuestions(Embedder):
            def embed_batch(self, texts):  # the checker never embeds
                raise RuntimeError("not used")

        docs = json.loads(args.answers.read_text(encoding="utf-8"))["results"]
        library = Library.of_index(
            open_index(Settings.from_env(), _NoQuestions(), check_model=False)
        )
    else:
        docs, library = ask_all(args.files or DEFAULT_FILES)
    report = count_answers(docs, library)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for f in report["faults"]:
            print(f"{f['kind']}: {f['text'][:200]}  <- {f['question']}")
        print(
            f"{report['answers']} answers: "
            + ", ".join(f"{k} {v}" for k, v in report["counts"].items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
