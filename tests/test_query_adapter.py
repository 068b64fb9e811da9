"""The query adapter: a linear map fitted at ingest from the written questions (the index's
and the training-only ones in corpus/questions/training/), through which the dense ranking
reads a question. It must learn (a question moves towards its own passage, also for
questions it was not fitted on), be reproducible, stay plain for a document nobody wrote
questions for, leave the scope step's cosines alone, and travel with its build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.core.errors import IndexMissing
from assistant.core.types import Chunk
from assistant.retrieval.hybrid import HybridRetriever, KeywordIndex
from assistant.retrieval.query import plan_query
from assistant.storage.questions import (
    ADAPTER,
    QUESTIONS,
    TRAINING,
    read_adapter,
    read_questions,
    write_adapter,
)
from ingest import adapter
from ingest.adapter import fit_adapter
from ingest.pipeline import run_ingest
from tests.fakes import HashingEmbedder, MemoryStore

DIM = 24


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _askers(seed: int, passages: np.ndarray, per: int, mix: np.ndarray) -> tuple:
    """Questions in the askers' own language: each is its passage seen through a fixed
    distortion (`mix`) plus noise, so plain cosine often misses its passage."""
    rng = np.random.default_rng(seed)
    owners = np.repeat(np.arange(len(passages)), per)
    noisy = passages[owners] @ mix + 0.1 * rng.normal(size=(len(owners), DIM))
    return _unit(noisy), owners


def _hits(questions: np.ndarray, owners: np.ndarray, passages: np.ndarray, matrix=None) -> float:
    moved = questions if matrix is None else _unit(questions @ matrix)
    return float(np.mean(np.argmax(moved @ passages.T, axis=1) == owners))


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(7)
    passages = _unit(rng.normal(size=(40, DIM)))
    mix = np.linalg.qr(rng.normal(size=(DIM, DIM)))[0]  # a rotation: same length, other words
    mix = 0.35 * np.eye(DIM) + 0.65 * mix
    return passages, mix


def test_the_adapter_moves_unseen_questions_towards_their_passages(world):
    passages, mix = world
    fit_q, fit_owners = _askers(1, passages, 30, mix)
    new_q, new_owners = _askers(2, passages, 5, mix)  # never seen by the fit
    matrix = fit_adapter(passages, fit_q, fit_owners)
    assert matrix.shape == (DIM, DIM) and matrix.dtype == np.float32
    plain, adapted = _hits(new_q, new_owners, passages), _hits(new_q, new_owners, passages, matrix)
    assert adapted >= plain + 0.2, (plain, adapted)


def test_the_fit_is_reproducible(world):
    passages, mix = world
    q, owners = _askers(1, passages, 30, mix)
    assert np.array_equal(fit_adapter(passages, q, owners), fit_adapter(passages, q, owners))


def test_too_few_questions_give_the_identity(world):
    """Below MIN_QUESTIONS the fit learnt noise (the development set fell): no map."""
    passages, mix = world
    per = -(-adapter.MIN_QUESTIONS // len(passages))
    q, owners = _askers(1, passages, per, mix)
    assert not np.allclose(fit_adapter(passages, q, owners), np.eye(DIM))
    few = adapter.MIN_QUESTIONS - 1
    assert np.array_equal(fit_adapter(passages, q[:few], owners[:few]), np.eye(DIM))
    assert np.array_equal(fit_adapter(passages, np.zeros((0, DIM)), np.zeros(0, int)), np.eye(DIM))
    one = np.zeros(len(q), int)
    assert np.array_equal(fit_adapter(passages[:1], q, one), np.eye(DIM))


def test_passages_left_out_are_not_learnt_against(world):
    """A passage outside `among` (a document nobody wrote questions for) is no negative: the
    map fitted with it masked out equals the map fitted on the other passages alone."""
    passages, mix = world
    q, owners = _askers(1, passages[:30], 40, mix)
    among = np.arange(len(passages)) < 30
    masked = fit_adapter(passages, q, owners, among)
    assert np.allclose(masked, fit_adapter(passages[:30], q, owners))
    assert not np.allclose(masked, fit_adapter(passages, q, owners))


# -- the file -----------------------------------------------------------------------------------


def test_the_adapter_file_round_trips_and_a_damaged_one_is_refused(tmp_path: Path):
    assert read_adapter(tmp_path, DIM) is None  # a build from before it
    matrix = np.eye(DIM, dtype=np.float32) * 2
    write_adapter(tmp_path, matrix)
    assert np.array_equal(read_adapter(tmp_path, DIM), matrix)
    with pytest.raises(IndexMissing, match="does not fit"):
        read_adapter(tmp_path, DIM + 1)
    np.save(tmp_path / ADAPTER, np.ones((DIM, DIM - 1), np.float32))
    with pytest.raises(IndexMissing, match="does not fit"):
        read_adapter(tmp_path, None)
    (tmp_path / ADAPTER).write_bytes(b"not numpy")
    with pytest.raises(IndexMissing, match="damaged"):
        read_adapter(tmp_path, DIM)


# -- retrieval ----------------------------------------------------------------------------------

MEMO = "Harwell memo"


def _retriever(adapter: np.ndarray | None, with_memo: bool = False) -> HybridRetriever:
    from assistant.storage.questions import QuestionVectors

    emb = HashingEmbedder(DIM * 8)
    texts = {
        "p1": "Districts chose pilot schools by readiness.",
        "p2": "Coaching budgets grew every year of the rollout.",
        "p3": "Teachers shared planning time across grade teams.",
    }
    chunks = [Chunk(cid, "paper", "The paper", "Findings", t) for cid, t in texts.items()]
    if with_memo:
        chunks.append(Chunk("m1", "memo", MEMO, "Plan", "Harwell grew its coaching budget."))
    store = MemoryStore()
    store.add([c.id for c in chunks], emb.embed_batch([c.indexed_text() for c in chunks]), [])
    asked = ["how did districts pick pilots", "what about coaching money", "planning time?"]
    questions = QuestionVectors(
        np.arange(3, dtype=np.int32), asked, emb.embed_batch(asked), ["direct"] * 3
    )
    return HybridRetriever(chunks, store, KeywordIndex(chunks), emb, None, questions, adapter)


def _onto(retriever: HybridRetriever, question: str, target: str) -> np.ndarray:
    """An adapter that sends this question's vector onto passage `target`'s."""
    q = retriever.query_vector(plan_query(question))
    store = retriever.vectors
    p = store.vectors[store.ids.index(target)]
    return np.outer(q, p).astype(np.float32) / float(q @ q)


ASKED = "Our teachers feel they never get time together"


def _dense(retriever: HybridRetriever, question: str = ASKED) -> dict[str, int]:
    plan = plan_query(question)
    return retriever.dense_ranking(plan, retriever.vectors.query(retriever.query_vector(plan), 10))


def test_the_dense_ranking_reads_the_question_through_the_adapter():
    plain = _retriever(None)
    assert min(_dense(plain), key=_dense(plain).get) != "p2"
    adapted = _retriever(_onto(plain, ASKED, "p2"))
    assert _dense(adapted)["p2"] == 0
    # the scope step's cosine is the plain one, whatever the ranking
    qvec = plain.query_vector(plan_query(ASKED))
    for scored in adapted.score(plan_query(ASKED)):
        row = adapted.vectors.ids.index(scored.chunk.id)
        assert scored.dense == pytest.approx(float(adapted.vectors.vectors[row] @ qvec), abs=1e-6)


def test_a_document_without_written_questions_keeps_its_plain_rank():
    plain = _retriever(None, with_memo=True)
    adapted = _retriever(_onto(plain, ASKED, "p2"), with_memo=True)
    assert adapted.unasked == frozenset({"m1"})
    before, after = _dense(plain), _dense(adapted)
    assert before["m1"] != 0 and after["m1"] == before["m1"]
    assert after["p2"] == 0 and before["p2"] != 0  # the others are ranked through it


# -- ingest -------------------------------------------------------------------------------------


def _live(settings) -> Path:
    build = (Path(settings.store_dir) / "CURRENT").read_text().strip()
    return Path(settings.store_dir) / "builds" / build


def test_ingest_fits_the_adapter_and_training_questions_do_not_vote(store_copy, store):
    settings = store_copy(store)
    live = _live(settings)
    index = read_questions(live, 10_000)
    training = read_questions(live, 10_000, TRAINING)
    assert index is not None and training is not None and len(training.texts) > 600
    assert not set(training.texts) & set(index.texts)  # kept apart: they never vote
    matrix = read_adapter(live, index.vectors.shape[1])
    assert matrix is not None and not np.allclose(matrix, np.eye(len(matrix)))
    (live / ADAPTER).unlink()  # a build from before the adapter: ingest adds it, embeds nothing
    report = run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    assert report.changed and report.embedded == 0 and report.questions_embedded == 0
    assert np.array_equal(read_adapter(_live(settings), len(matrix)), matrix)
    assert (_live(settings) / QUESTIONS).is_file()
    assert not run_ingest(settings, embedder=HashingEmbedder(), progress=False).changed
