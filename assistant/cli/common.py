"""What every `lbw` command shares: its output flags, its settings, its input files.

The command modules import from here and never from each other, so adding a command group
touches one module and the parser's list of groups.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.errors import InvalidHistory, InvalidQuestion, LbwError
from assistant.core.inputs import (
    MAX_BATCH_BYTES,
    MAX_HISTORY_BYTES,
    check_text,
    parse_json,
    read_text_file,
    strings_problem,
)
from assistant.core.settings import TOP_K_RANGE, Settings, whole


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def add_output_args(p: argparse.ArgumentParser) -> None:
    """--json, and the hidden --corpus (the library folder, as `lbw ingest --corpus`) that every
    command but ingest takes."""
    p.add_argument("--json", action="store_true")
    p.add_argument("--corpus", help=argparse.SUPPRESS)


def settings_from(args) -> Settings:
    return Settings.from_env(
        corpus_dir=Path(args.corpus) if getattr(args, "corpus", None) else None,
        llm=getattr(args, "llm", None),
        llm_model=getattr(args, "model", None),
    )


@dataclass
class BatchItem:
    """One checked line of a --batch file."""

    line: int
    question: str
    history: list = field(default_factory=list)


def read_batch(path: str, settings: Settings) -> list[BatchItem]:
    """Every line of a --batch file, checked before the first question runs.

    A bad line (not JSON, no question, an empty or too long one, text that is not Unicode, a
    malformed history) is refused with its line number, so a long run never stops halfway
    on input that was wrong from the start.
    """
    from assistant.retrieval.query import clean_question
    from assistant.service import validate_history

    text = read_text_file(path, "the batch file", MAX_BATCH_BYTES, InvalidHistory)
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"Line {number} of {path}"
        item = parse_json(line, where, InvalidHistory)
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise InvalidHistory(f'{where} needs a "question" string.')
        if problem := strings_problem(item):
            raise InvalidHistory(f"{where} has a text that {problem}.")
        try:
            clean_question(item["question"], settings.max_question_chars)
            history = validate_history(item.get("history"))
        except LbwError as exc:
            raise InvalidHistory(f"{where}: {exc}") from exc
        items.append(BatchItem(number, item["question"], history))
    return items


def check_question(question: str) -> str:
    """The question argument, refused (exit 2) when the terminal handed bytes that are not
    UTF-8."""
    return check_text(question, "question", InvalidQuestion)


def read_history(args) -> list:
    """The --history file's turns: a bounded read of a regular UTF-8 JSON file."""
    from assistant.service import validate_history

    if not args.history:
        return []
    text = read_text_file(args.history, "history file", MAX_HISTORY_BYTES, InvalidHistory)
    data = parse_json(text, f"History file {args.history}", InvalidHistory)
    if problem := strings_problem(data):
        raise InvalidHistory(f"History file {args.history} has a text that {problem}.")
    return validate_history(data)


def positive_k(value: str) -> int:
    """argparse type of -k: a number of passages, within LBW_TOP_K's range."""
    try:
        return whole(*TOP_K_RANGE)(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from None
