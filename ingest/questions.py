"""The question index at ingest: read the questions written for the library's passages,
key each to its passage, embed them (reusing the previous build's vectors).

The bundled library's questions live beside it in `corpus/questions/*.jsonl` (see its
README for who wrote them), one JSON object a line:

    {"passage_id": str, "passage_fingerprint": str, "question": str, "voice": str, "form": str}

A question names its passage twice: by chunk id (which hashes the passage with its headings)
and by a fingerprint of the passage's text alone. The id finds it; when a heading changes
the id but not the text, the fingerprint still does (re-keyed, and counted); when the text
changed, the question is left out and reported as stale, never attached to whatever passage
now sits there. Questions a language model wrote for an added document are kept the same
way under the store's `questions/` folder (`<doc_id>.jsonl`, see assistant.llm.questions).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.core.types import Chunk
from assistant.embedding.embedder import TEXTS_PER_CALL, Embedder
from assistant.storage.questions import QuestionVectors

# Beside the bundled library's questions: a folder of written questions that train the query
# adapter (ingest.adapter) without joining the index, so they never vote for a passage.
TRAINING_DIR = "training"
# A written question longer than this is not one a leader types; such a line is refused.
MAX_CHARS = 300
FORMS = ("situation", "short", "named", "advice", "yesno", "direct", "model")


def fingerprint(text: str) -> str:
    """A passage's text, whitespace-folded and hashed: what a question was written for."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class WrittenQuestion:
    passage_id: str
    fingerprint: str
    question: str
    form: str = "direct"
    voice: str = ""


@dataclass
class Keyed:
    """Questions keyed to the rows of a build's chunks, and what could not be keyed."""

    rows: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    rekeyed: int = 0  # found by fingerprint under a new chunk id
    stale: dict[str, int] = field(default_factory=dict)  # passage id -> questions left out

    def digest(self) -> str:
        """What the build's question index holds, for the ingest fingerprint."""
        h = hashlib.sha256()
        for row, text, form in zip(self.rows, self.texts, self.forms, strict=True):
            h.update(f"{row}\x1f{form}\x1f{text}\n".encode())
        return h.hexdigest()


def parse_line(line: str) -> WrittenQuestion | None:
    """One line of a question file; None when it is not a usable question record."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    question = data.get("question")
    pid = data.get("passage_id")
    if not isinstance(question, str) or not isinstance(pid, str):
        return None
    question = " ".join(question.split())
    if not question or len(question) > MAX_CHARS:
        return None
    form = data.get("form") if data.get("form") in FORMS else "direct"
    voice = data.get("voice") if isinstance(data.get("voice"), str) else ""
    return WrittenQuestion(pid, str(data.get("passage_fingerprint") or ""), question, form, voice)


def read_question_files(folder: Path, names: list[str] | None = None) -> list[WrittenQuestion]:
    """Every question in `folder`'s *.jsonl files (or in `<name>.jsonl` for each of `names`),
    in file order (none when no folder)."""
    if not folder.is_dir():
        return []
    out: list[WrittenQuestion] = []
    paths = (
        sorted(folder.glob("*.jsonl"))
        if names is None
        else [folder / f"{n}.jsonl" for n in names if (folder / f"{n}.jsonl").is_file()]
    )
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and (q := parse_line(line)) is not None:
                out.append(q)
    return out


def key_questions(questions: list[WrittenQuestion], chunks: list[Chunk]) -> Keyed:
    """Each question at its passage's row, in row order (the question index's order)."""
    rows = {c.id: i for i, c in enumerate(chunks)}
    prints = [fingerprint(c.text) for c in chunks]
    by_print: dict[str, int] = {}
    for i, p in enumerate(prints):
        by_print.setdefault(p, i)
    placed: list[tuple[int, int, WrittenQuestion]] = []
    keyed = Keyed()
    seen: set[tuple[int, str]] = set()
    for n, q in enumerate(questions):
        row = rows.get(q.passage_id)
        if row is not None and q.fingerprint and prints[row] != q.fingerprint:
            row = None  # the id survived but the text did not (never expected: ids hash text)
        if row is None and q.fingerprint in by_print:
            row = by_print[q.fingerprint]
            keyed.rekeyed += 1
        if row is None:
            keyed.stale[q.passage_id] = keyed.stale.get(q.passage_id, 0) + 1
            continue
        if (row, q.question.lower()) in seen:
            continue
        seen.add((row, q.question.lower()))
        placed.append((row, n, q))
    placed.sort(key=lambda t: (t[0], t[1]))
    for row, _, q in placed:
        keyed.rows.append(row)
        keyed.texts.append(q.question)
        keyed.forms.append(q.form)
    return keyed


def embed_questions(
    sets: Sequence[Keyed],
    embedder: Embedder | None,
    reuse: dict[str, np.ndarray],
    dim: int,
) -> tuple[list[QuestionVectors], int]:
    """Each set of questions (the index's, the adapter's training questions) with its
    vectors, reusing a vector stored for the same text by the same model; and how many were
    embedded. The sets' new texts are embedded together, longest first (less padding)."""
    new = (t for keyed in sets for t in keyed.texts if t not in reuse)
    todo = sorted(dict.fromkeys(new), key=len, reverse=True)
    vectors = dict(reuse)
    if todo:
        assert embedder is not None  # build_and_publish loads one whenever there is work
        for start in range(0, len(todo), TEXTS_PER_CALL):
            part = todo[start : start + TEXTS_PER_CALL]
            for text, v in zip(part, embedder.embed_batch(part), strict=True):
                vectors[text] = v
    out = []
    for keyed in sets:
        matrix = (
            np.vstack([vectors[t] for t in keyed.texts]).astype(np.float32)
            if keyed.texts
            else np.zeros((0, dim), np.float32)
        )
        owners = np.array(keyed.rows, dtype=np.int32)
        out.append(QuestionVectors(owners, list(keyed.texts), matrix, list(keyed.forms)))
    return out, len(todo)


def stored_vectors(questions: QuestionVectors | None) -> dict[str, np.ndarray]:
    """A previous build's question vectors by text."""
    if questions is None:
        return {}
    return {t: questions.vectors[i] for i, t in enumerate(questions.texts)}


# -- questions a model wrote for an added document ------------------------------------------


def model_questions_dir(store_dir: Path) -> Path:
    return Path(store_dir) / "questions"


def save_model_questions(
    store_dir: Path, doc_id: str, chunks: list[Chunk], questions: dict[str, list[str]]
) -> Path:
    """Write a document's model-written questions (`form` "model") where ingest reads them;
    keyed by chunk id and fingerprint like the bundled library's."""
    folder = model_questions_dir(store_dir)
    folder.mkdir(parents=True, exist_ok=True)
    by_id = {c.id: c for c in chunks}
    lines = [
        json.dumps(
            {
                "passage_id": cid,
                "passage_fingerprint": fingerprint(by_id[cid].text),
                "question": q,
                "voice": "language model",
                "form": "model",
            },
            ensure_ascii=False,
        )
        for cid, qs in questions.items()
        if cid in by_id
        for q in qs
    ]
    path = folder / f"{doc_id}.jsonl"
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    path.chmod(0o600)
    return path


# -- bringing writers' files in -----------------------------------------------------------


def import_writer_file(source: Path, dest: Path, chunks: list[Chunk]) -> dict[str, int]:
    """Copy one writer's JSON Lines into the library's question folder with each passage's
    fingerprint added, the questions untouched. Lines that do not parse, or that name a
    passage the library does not have, are dropped and counted."""
    by_id = {c.id: c for c in chunks}
    kept: list[str] = []
    counts = {"kept": 0, "unparsed": 0, "unknown_passage": 0}
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = parse_line(line)
        if q is None:
            counts["unparsed"] += 1
            continue
        chunk = by_id.get(q.passage_id)
        if chunk is None:
            counts["unknown_passage"] += 1
            continue
        record = {
            "passage_id": q.passage_id,
            "passage_fingerprint": fingerprint(chunk.text),
            "question": json.loads(line)["question"],
            "voice": q.voice,
            "form": q.form,
        }
        kept.append(json.dumps(record, ensure_ascii=False))
        counts["kept"] += 1
    dest.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return counts
