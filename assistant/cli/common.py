"""What every `lbw` command shares: its output flags, its settings, its input files.

The command modules import from here and never from each other, so adding a command group
touches one module and the parser's list of groups.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assistant.core.errors import InvalidHistory
from assistant.core.settings import Settings


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


def read_batch(path: str) -> list[dict]:
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidHistory(f"Cannot read the batch file {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidHistory(f"Line {number} of {path} is not valid JSON: {exc}") from exc
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise InvalidHistory(f'Line {number} of {path} needs a "question" string.')
        items.append(item)
    return items


def read_history(args) -> list:
    from assistant.service import read_history_file

    return read_history_file(args.history) if args.history else []
