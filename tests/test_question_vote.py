"""The question index's vote and documents nobody wrote questions for.

A passage is ranked by its nearest written question as well as by its own text; a document
a user adds without a model has no written questions, so its passages must not lose to the
bundled library's for that reason alone (issue 24 §6). A tiny library built here: three
passages of a "paper" with a written question each, one passage of a district memo with none.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.core.text import split_sentences
from assistant.core.types import Chunk
from assistant.retrieval import hybrid
from assistant.retrieval.hybrid import HybridRetriever, KeywordIndex
from assistant.retrieval.query import plan_query
from assistant.storage.builds import SentenceVectors
from assistant.storage.questions import QuestionVectors
from tests.fakes import HashingEmbedder, MemoryStore

PAPER = [
    (
        "p1",
        "Districts chose their pilot schools by readiness, starting where principals were eager.",
        "how did districts pick pilot schools",
    ),
    (
        "p2",
        "Teachers were asked about their planning time and how they share it.",
        "what did teachers say about planning time",
    ),
    (
        "p3",
        "Budgets for instructional coaching grew each year of the rollout.",
        "how much was spent on coaching",
    ),
]
MEMO = ("m1", "Teachers in the Harwell pilot schools said that planning time mattered most.")
ASKED = "What did teachers say about planning time in the Harwell pilot schools?"


def _retriever(memo_questions: list[str] | None = None) -> HybridRetriever:
    emb = HashingEmbedder()
    chunks = [Chunk(cid, "paper", "The paper", "Findings", text) for cid, text, _ in PAPER]
    chunks.append(Chunk(MEMO[0], "memo", "Harwell memo", "Planning", MEMO[1]))
    store = MemoryStore()
    store.add([c.id for c in chunks], emb.embed_batch([c.indexed_text() for c in chunks]), [])
    owners, texts = [], []
    for row, c in enumerate(chunks):
        for sentence in split_sentences(c.text):
            owners.append(row)
            texts.append(sentence)
    sentences = SentenceVectors(np.array(owners, dtype=np.int32), texts, emb.embed_batch(texts))
    written = [(row, q) for row, (_, _, q) in enumerate(PAPER)]
    written += [(len(PAPER), q) for q in memo_questions or []]
    questions = QuestionVectors(
        np.array([row for row, _ in written], dtype=np.int32),
        [q for _, q in written],
        emb.embed_batch([q for _, q in written]),
        ["direct"] * len(written),
    )
    return HybridRetriever(chunks, store, KeywordIndex(chunks), emb, sentences, questions)


def _ranked(retriever: HybridRetriever, question: str = ASKED) -> list[str]:
    return [s.chunk.id for s in retriever.score(plan_query(question))]


def test_only_a_document_without_any_written_question_is_unasked():
    assert _retriever().unasked == {MEMO[0]}
    assert _retriever(["what mattered most to Harwell teachers"]).unasked == frozenset()


def test_a_passage_first_on_every_ranking_it_can_be_in_is_not_outranked_for_lack_of_questions():
    retriever = _retriever()
    qvec = retriever.query_vector(plan_query(ASKED))
    # The memo passage is first by its text, its sentences and its words; a paper passage's
    # written question is near the asked one, so the question ranking votes, for it alone.
    assert retriever.vectors.query(qvec, 1)[0][0] == MEMO[0]
    assert retriever.closest_sentences(qvec, 1)[0][0] == MEMO[0]
    assert retriever.keywords.search(ASKED, 1)[0][0] == MEMO[0]
    voted = [cid for cid, sim in retriever.closest_questions(qvec, 4) if sim >= hybrid.QUESTION_MIN]
    assert voted and MEMO[0] not in voted
    assert _ranked(retriever)[0] == MEMO[0]


def test_the_vote_is_not_imputed_when_the_question_ranking_casts_none(monkeypatch):
    """Far from every written question no passage gets the vote, so none gets it imputed:
    the scores are those of a retriever without the question ranking."""
    retriever = _retriever()

    def scores() -> dict[str, float]:
        return {s.chunk.id: s.score for s in retriever.score(plan_query(ASKED))}

    monkeypatch.setattr(hybrid, "QUESTION_MIN", 1.01)  # no written question is near enough
    far = scores()
    monkeypatch.setattr(hybrid, "QUESTION_WEIGHT", 0.0)
    assert far == pytest.approx(scores())
