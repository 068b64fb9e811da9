"""The question index of a build: questions each passage answers, with their vectors.

    store_dir/builds/<id>/questions.npz   owners (passage rows), texts, forms, vectors
    store_dir/builds/<id>/training.npz    the same, for questions that only train the adapter
    store_dir/builds/<id>/adapter.npy     the query adapter, (dim, dim) float32

Written at ingest beside embeddings.npy and sentences.npz (ingest.questions keys them to
passages and embeds them). A question finds a passage in the asker's words, which the
passage itself rarely uses; a passage is scored by its nearest question (the
"hypothetical questions" pattern of LangChain's MultiVectorRetriever).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.core.errors import IndexMissing
from assistant.core.types import Chunk
from assistant.storage.builds import SentenceVectors

QUESTIONS = "questions.npz"
# Written questions kept out of the index (they do not vote for passages) that teach the
# query adapter (ingest.adapter) alongside the index's own.
TRAINING = "training.npz"
ADAPTER = "adapter.npy"


@dataclass
class QuestionVectors(SentenceVectors):
    """Row i is question `texts[i]` of the passage at row `owners[i]` (owners never
    decrease), of the form its writer gave it ("direct", "short", ...; "model" for a question
    a language model wrote for an added document)."""

    forms: list[str] = field(default_factory=list)

    def nearest(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k questions nearest a unit query vector: (question row, cosine), best first."""
        if not len(self.texts):
            return []
        sims = self.vectors @ query.astype(np.float32)
        top = np.argsort(-sims, kind="stable")[:k]
        return [(int(i), float(sims[i])) for i in top]


def unasked(chunks: Sequence[Chunk], owners: np.ndarray) -> frozenset[str]:
    """The passages of documents with no written question at all (`owners`: the passage rows
    the written questions belong to), when other documents have some: a user's document
    added without a model beside the bundled library. A passage the question writers passed
    over in a document they covered (a table of contents, a caption) is not one of them:
    that it got no question is itself a judgement."""
    if not len(owners):
        return frozenset()
    asked = {chunks[int(row)].doc_id for row in set(np.asarray(owners).tolist())}
    return frozenset(c.id for c in chunks if c.doc_id not in asked)


def write_questions(path: Path, questions: QuestionVectors, name: str = QUESTIONS) -> None:
    np.savez(
        path / name,
        owners=questions.owners.astype(np.int32),
        texts=np.array(questions.texts, dtype=str),
        forms=np.array(questions.forms, dtype=str),
        vectors=questions.vectors.astype(np.float32),
    )


def read_questions(path: Path, rows: int, name: str = QUESTIONS) -> QuestionVectors | None:
    """A build's question index (or its training questions, `name=TRAINING`); None when it
    has none (a build from before it), IndexMissing when the file is damaged or does not fit
    the build's passages."""
    if not (path / name).is_file():
        return None
    try:
        with np.load(path / name, allow_pickle=False) as data:
            owners = data["owners"].astype(np.int32)
            texts = [str(t) for t in data["texts"]]
            forms = [str(f) for f in data["forms"]]
            vectors = data["vectors"].astype(np.float32)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise IndexMissing(
            f"The index build in {path} is damaged ({name}: {type(exc).__name__}); "
            "run `lbw ingest` to rebuild it."
        ) from exc
    fits = (
        owners.ndim == 1
        and (vectors.ndim == 2 or not len(owners))
        and len(owners) == len(texts) == len(forms) == len(vectors)
        and (not len(owners) or (owners.min() >= 0 and owners.max() < rows))
        and bool(np.all(np.diff(owners) >= 0))
    )
    if not fits:
        raise IndexMissing(
            f"The index build in {path} is damaged ({name} does not fit its passages); "
            "run `lbw ingest` to rebuild it."
        )
    return QuestionVectors(owners, texts, vectors, forms)


def write_adapter(path: Path, matrix: np.ndarray) -> None:
    np.save(path / ADAPTER, matrix.astype(np.float32))


def read_adapter(path: Path, dim: int | None) -> np.ndarray | None:
    """A build's query adapter; None when it has none (a build from before it, or one
    without written questions), IndexMissing when the file is damaged or not square (in
    `dim`, the build's vector dimension, when known)."""
    if not (path / ADAPTER).is_file():
        return None
    try:
        matrix = np.load(path / ADAPTER, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexMissing(
            f"The index build in {path} is damaged ({ADAPTER}: {type(exc).__name__}); "
            "run `lbw ingest` to rebuild it."
        ) from exc
    square = matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1]
    if not square or (dim is not None and len(matrix) != dim) or not np.all(np.isfinite(matrix)):
        raise IndexMissing(
            f"The index build in {path} is damaged ({ADAPTER} does not fit its vectors); "
            "run `lbw ingest` to rebuild it."
        )
    return matrix.astype(np.float32)
