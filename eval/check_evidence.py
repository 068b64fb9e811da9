"""Check every evidence span of a question file against the library, verbatim.

    python -m eval.check_evidence [--corpus DIR] FILE [FILE ...]

Reads both question formats (the old sets' `in_scope` and the blind sets' `scope`) as raw
JSON, so a line the scorer would refuse is still checked and reported by its number. A span
passes when it is 30 to 200 characters long, sits inside one line, occurs verbatim (no
normalisation: curly quotes and mojibake count) in the document its question names, and
occurs exactly once in the whole library (all manifest documents, overlapping matches
counted). Ids must be unique within a file; in-library questions carry 1 to 3 spans and a
known `doc`; off-library questions carry no evidence and no `doc`.

Every failure prints as `FILE:LINE: message`; the exit status is 1 when any check failed
(2 when a file or the library cannot be read). Nothing is ever fixed here.

Trade-off: matching is exact, where the scorer matches normalised text. Exactness is the
stronger promise (a writer copied the span), and it is what keeps "exactly once" meaningful.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_CHARS = 30
MAX_CHARS = 200
MAX_SPANS = 3


@dataclass(frozen=True)
class Library:
    """The library's documents as raw text, by manifest id."""

    texts: dict[str, str]

    @classmethod
    def load(cls, corpus_dir: str | Path) -> Library:
        corpus_dir = Path(corpus_dir)
        manifest = json.loads((corpus_dir / "manifest.json").read_text(encoding="utf-8"))
        texts = {}
        for entry in manifest["documents"]:
            try:
                texts[entry["id"]] = (corpus_dir / entry["file"]).read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # a binary document (PDF, DOCX) holds no verbatim text to check
        return cls(texts)

    def count(self, span: str) -> dict[str, int]:
        """How often `span` occurs in each document (overlapping matches counted)."""
        counts = {}
        for doc_id, text in self.texts.items():
            n, start = 0, text.find(span)
            while start != -1:
                n += 1
                start = text.find(span, start + 1)
            if n:
                counts[doc_id] = n
        return counts


def _off_library(record: dict[str, Any]) -> bool:
    if "scope" in record:
        return record["scope"] == "not_in_library"
    return record.get("in_scope", True) is False


def check_record(record: Any, library: Library) -> list[str]:
    """What is wrong with one question's evidence (empty when nothing is)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    evidence = record.get("evidence") or []
    if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
        return ['"evidence" must be a list of strings']
    doc = record.get("doc")
    if _off_library(record):
        problems = []
        if evidence:
            problems.append(f"off-library question has {len(evidence)} evidence span(s)")
        if doc is not None:
            problems.append(f'off-library question names a doc ("{doc}")')
        return problems
    if not 1 <= len(evidence) <= MAX_SPANS:
        return [f"in-library question needs 1 to {MAX_SPANS} evidence spans, has {len(evidence)}"]
    if doc not in library.texts:
        return [f'"doc" is {doc!r}, not a text document of the library']
    problems = []
    for i, span in enumerate(evidence, start=1):
        where = f"evidence {i} ({span[:40]!r}...)"
        if not MIN_CHARS <= len(span) <= MAX_CHARS:
            problems.append(f"{where}: {len(span)} characters, not {MIN_CHARS} to {MAX_CHARS}")
        if "\n" in span:
            problems.append(f"{where}: spans more than one line")
        counts = library.count(span)
        if doc not in counts:
            problems.append(f'{where}: not found verbatim in "{doc}"')
        total = sum(counts.values())
        if total > 1:
            places = ", ".join(f"{d} x{n}" for d, n in sorted(counts.items()))
            problems.append(f"{where}: occurs {total} times in the library ({places})")
    return problems


def check_file(path: str | Path, library: Library) -> list[str]:
    """`FILE:LINE: message` for every failed check of one question file."""
    path = Path(path)
    messages: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            messages.append(f"{path}:{number}: not valid JSON: {exc}")
            continue
        qid = record.get("id") if isinstance(record, dict) else None
        if isinstance(qid, str):
            if qid in seen:
                messages.append(f'{path}:{number}: id "{qid}" already used on line {seen[qid]}')
            else:
                seen[qid] = number
        else:
            messages.append(f'{path}:{number}: "id" must be a string')
        label = f" {qid}" if isinstance(qid, str) else ""
        messages += [f"{path}:{number}:{label}: {p}" for p in check_record(record, library)]
    return messages


def check_files(paths: Sequence[str | Path], corpus_dir: str | Path) -> list[str]:
    """All failures of several question files against one library, in file order."""
    library = Library.load(corpus_dir)
    return [m for path in paths for m in check_file(path, library)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.check_evidence",
        description="Check question files' evidence spans against the library (verbatim, "
        "exactly once, 30-200 characters).",
    )
    parser.add_argument("files", nargs="+", help="question files (JSON Lines)")
    parser.add_argument(
        "--corpus",
        help="library folder with manifest.json (default: LBW_CORPUS_DIR, else corpus/)",
    )
    args = parser.parse_args(argv)
    if args.corpus:
        corpus_dir = Path(args.corpus)
    else:
        from assistant.core.settings import Settings

        corpus_dir = Settings.from_env().corpus_dir
    try:
        messages = check_files(args.files, corpus_dir)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError) as exc:
        print(f"check_evidence: {exc}", file=sys.stderr)
        return 2
    for message in messages:
        print(message, file=sys.stderr)
    if messages:
        print(f"{len(messages)} problem(s) in {len(args.files)} file(s).", file=sys.stderr)
        return 1
    print(f"{len(args.files)} file(s): every evidence span checks out.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
