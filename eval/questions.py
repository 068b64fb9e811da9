"""Question sets: the two formats, one `EvalQuestion`, and the named sets `lbw eval` runs.

Two formats are read line by line, told apart by their fields:
- the old sets (`devset.jsonl`, `heldout.jsonl`): `in_scope` true/false, kinds such as
  `tension` or `out-of-scope`;
- the blind sets (`blind/W*.jsonl`): `scope` answered | partial | not_in_library, plus
  `writer`, `key_points`, `missing` and `style`.
Both end up as the same `EvalQuestion`: `scope` is derived from `in_scope` for the old sets
(True -> "answered", False -> "not_in_library") and `in_scope` from `scope` for the blind ones,
so every metric reads one field whatever the file.

Writers name school systems in their own words ("Henry County Public Schools"); a name maps
onto the canonical system (assistant.core.domain.SYSTEMS) when the aliases of exactly one
system identify it, and stays as written otherwise (then it must appear verbatim).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.errors import LbwError
from assistant.core.inputs import MAX_BATCH_BYTES, read_text_file
from assistant.core.types import Turn

EVAL_DIR = Path(__file__).resolve().parent
BLIND_DIR = EVAL_DIR / "blind"
SCOPES = ("answered", "partial", "not_in_library")
WHITE_PAPER = "look-both-ways"
DOC_GROUPS = ("white-paper", "short-docs")

# The blind kinds, then the old sets' kinds; each set reports the kinds it has, in this order.
KIND_ORDER = (
    "situation",
    "direct",
    "tension",
    "paraphrase",
    "district",
    "fact",
    "survey",
    "reflection",
    "short-doc",
    "follow-up",
    "partial",
    "off-library",
    "out-of-scope",
)

# Split by writer (GUIDE §6): tune on W1-W2; W3-W8 are scored, never read while changing code.
# A test question that was read is spent: its line is copied, unchanged, into SPENT (part of
# tune) and the test split leaves it out (blind/README.md).
SPLITS: dict[str, tuple[str, ...]] = {
    "tune": ("W1", "W2", "spent"),
    "test": ("W3", "W4", "W5", "W6", "W7", "W8"),
}
SPENT = BLIND_DIR / "spent.jsonl"
OLD_SETS = {"dev": EVAL_DIR / "devset.jsonl", "heldout": EVAL_DIR / "heldout.jsonl"}


class QuestionSetError(LbwError):
    """A question file that cannot be read; the message names the file and line."""

    exit_code = 2


def normalize(text: str) -> str:
    """Lower-case and keep only ASCII letters and digits, so formatting never decides a match."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def kind_key(kind: str) -> tuple[int, str]:
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question set: what is asked, and what a good answer must show.

    `scope` is what a good answer declares (answered | partial | not_in_library); left out,
    it follows `in_scope`. `doc_group` is "white-paper", "short-docs" or None (off-library).
    """

    id: str
    kind: str
    question: str
    history: tuple[Turn, ...] = ()
    evidence: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    in_scope: bool = True
    doc: str | None = None
    scope: str | None = None
    writer: str | None = None
    key_points: tuple[str, ...] = ()
    missing: str = ""
    style: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope is None:
            object.__setattr__(self, "scope", "answered" if self.in_scope else "not_in_library")
        elif self.scope not in SCOPES:
            raise ValueError(f'"scope" must be one of {", ".join(SCOPES)}')
        elif self.in_scope != (self.scope != "not_in_library"):
            raise ValueError(f'"in_scope" {self.in_scope} contradicts "scope" {self.scope}')

    @property
    def doc_group(self) -> str | None:
        if self.doc is None:
            return None
        return "white-paper" if self.doc == WHITE_PAPER else "short-docs"


# ---------------------------------------------------------------------------- systems


def _alias_pattern(alias: str) -> re.Pattern[str]:
    flags = re.IGNORECASE if len(alias.split()) > 1 else 0
    # ASCII boundaries: mojibake letters (â) next to a name must not hide it.
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(alias)}(?![A-Za-z0-9])", flags)


def system_patterns(name: str) -> list[re.Pattern[str]]:
    """Patterns that find a system by its canonical name or any alias (a whole word)."""
    from assistant.core.domain import SYSTEMS

    aliases = {name}
    for system in SYSTEMS:
        if system.name.lower() == name.lower():
            aliases |= {system.name, *system.aliases}
    return [_alias_pattern(a) for a in sorted(aliases)]


def canonical_system(name: str) -> str:
    """The canonical name of the one system whose name or aliases occur in `name`, else `name`.

    "Greeley-Evans School District" -> "Greeley-Evans School District 6"; "NYC" stays "NYC".
    """
    from assistant.core.domain import SYSTEMS

    matches = {
        s.name for s in SYSTEMS if any(_alias_pattern(a).search(name) for a in (s.name, *s.aliases))
    }
    return matches.pop() if len(matches) == 1 else name


# ---------------------------------------------------------------------------- parsing


def _str_list(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'"{field}" must be a list of strings')
    return tuple(value)


def _history(value: Any) -> tuple[Turn, ...]:
    history = []
    for turn in value or []:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ("user", "assistant")
            or not isinstance(turn.get("content"), str)
        ):
            raise ValueError(
                '"history" entries must be {"role": "user"|"assistant", "content": str}'
            )
        history.append(Turn(turn["role"], turn["content"]))
    return tuple(history)


def _optional_str(record: dict[str, Any], field: str) -> str | None:
    value = record.get(field)
    if value is not None and not isinstance(value, str):
        raise ValueError(f'"{field}" must be a string or null')
    return value


def parse_question(record: Any) -> EvalQuestion:
    """One JSON record of either format as an EvalQuestion (ValueError says what is wrong)."""
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    for key in ("id", "kind", "question"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise ValueError(f'"{key}" must be a non-empty string')
    evidence = _str_list(record.get("evidence", []), "evidence")
    if any(not normalize(e) for e in evidence):
        raise ValueError("an evidence string has no letters or digits, so it would match anything")
    scope = record.get("scope")
    if scope is not None and scope not in SCOPES:
        raise ValueError(f'"scope" must be one of {", ".join(SCOPES)}')
    in_scope = record.get("in_scope", True if scope is None else scope != "not_in_library")
    if not isinstance(in_scope, bool):
        raise ValueError('"in_scope" must be true or false')
    missing = record.get("missing") or ""
    if not isinstance(missing, str):
        raise ValueError('"missing" must be a string')
    systems = _str_list(record.get("systems", []), "systems")
    return EvalQuestion(
        id=record["id"],
        kind=record["kind"],
        question=record["question"],
        history=_history(record.get("history")),
        evidence=evidence,
        systems=tuple(dict.fromkeys(canonical_system(s) for s in systems)),
        in_scope=in_scope,
        doc=_optional_str(record, "doc"),
        scope=scope,
        writer=_optional_str(record, "writer"),
        key_points=_str_list(record.get("key_points", []), "key_points"),
        missing=missing,
        style=_str_list(record.get("style", []), "style"),
    )


def load_questions(path: str | Path) -> list[EvalQuestion]:
    """Read a JSON Lines question set; any bad line stops the run with its line number."""
    path = Path(path)
    lines = read_text_file(path, "question set", MAX_BATCH_BYTES, QuestionSetError).splitlines()
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            question = parse_question(json.loads(line))
        except (json.JSONDecodeError, ValueError) as exc:
            raise QuestionSetError(f"{path}, line {number}: {exc}") from exc
        if question.id in seen:
            raise QuestionSetError(f'{path}, line {number}: duplicate id "{question.id}"')
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise QuestionSetError(f"{path} holds no questions.")
    return questions


def spent_ids() -> frozenset[str]:
    """The test questions that were read, and so moved to tune."""
    if not SPENT.is_file():
        return frozenset()
    return frozenset(q.id for q in load_questions(SPENT))


def load_set(paths: Iterable[str | Path]) -> list[EvalQuestion]:
    """Several files as one set (a split); an id used in two files stops the run. A blind
    test file is read without its spent questions (they are in tune)."""
    questions: list[EvalQuestion] = []
    where: dict[str, Path] = {}
    test_files = {BLIND_DIR / f"{writer}.jsonl" for writer in SPLITS["test"]}
    for path in map(Path, paths):
        skip = spent_ids() if path.resolve() in test_files else frozenset()
        for q in load_questions(path):
            if q.id in skip:
                continue
            if q.id in where:
                raise QuestionSetError(f'{path}: id "{q.id}" is also used in {where[q.id]}')
            where[q.id] = path
            questions.append(q)
    return questions


def named_sets(split: str | None = None) -> dict[str, list[Path]]:
    """The sets `lbw eval` runs: tune and test (the blind splits), then dev and heldout.

    `split` ("tune" or "test") keeps that split only.
    """
    blind = {
        name: [BLIND_DIR / f"{writer}.jsonl" for writer in writers]
        for name, writers in SPLITS.items()
    }
    if split is not None:
        if split not in blind:
            raise QuestionSetError(f'Unknown split "{split}": use {" or ".join(blind)}.')
        return {split: blind[split]}
    return {**blind, **{name: [path] for name, path in OLD_SETS.items()}}


def describe(paths: Sequence[str | Path]) -> str:
    """How a set's files are named in reports: paths (relative to the working directory when
    inside it) joined with " + "."""

    def show(path: str | Path) -> str:
        try:
            return str(Path(path).resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    return " + ".join(show(p) for p in paths)


def doc_group_key(group: str) -> tuple[int, str]:
    return (DOC_GROUPS.index(group) if group in DOC_GROUPS else len(DOC_GROUPS), group)


def doc_group_order(groups: Iterable[str]) -> list[str]:
    return sorted(groups, key=doc_group_key)
