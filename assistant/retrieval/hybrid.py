"""Hybrid retrieval: dense (MiniLM in Chroma), closest-sentence, closest-written-question and
keyword (BM25) results fused by reciprocal rank, then nudged by the question's structure
(tension, system, kind).

Why all three: leaders paraphrase ("tiny central team") where dense search shines, and name
districts, numbers and the paper's own terms ("prix fixe", "58%") where BM25 is exact. A
leader's situation often matches one sentence of a long passage whose vector as a whole is
about something broader; ranking passages by their closest sentence finds it. And a leader
rarely uses the passage's words at all: questions written for each passage in leaders' voices
(the question index, assistant.storage.questions) meet the asker halfway, so a passage is also
ranked by its nearest written question.
The dense ranking reads the question through the build's query adapter (ingest.adapter), a
linear map learned from those same written questions, which moves a leader's wording towards
the library's; the scope step still sees the plain cosine, which its floors were fitted on.
Reciprocal-rank fusion needs no score calibration between the two. Structure boosts are
small relative to a first rank, so they reorder near-ties rather than override relevance.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from functools import lru_cache

import numpy as np

from assistant.core.text import stemmer
from assistant.core.types import Chunk, Filters, Passage
from assistant.embedding.embedder import Embedder
from assistant.retrieval.query import QueryPlan
from assistant.retrieval.slate import Scored, focus_tension, slate
from assistant.storage.builds import SentenceVectors
from assistant.storage.questions import QuestionVectors, unasked
from assistant.storage.vectors import VectorStore

RRF_K = 60
CANDIDATES = 80
# The closest-sentence ranking's vote against the dense and keyword rankings' 1 each, fitted
# on the blind tune split (eval/fit.py: 0 / 0.5 / 1 / 1.25 / 1.5 / 2).
SENTENCE_WEIGHT = 1.25
# The nearest-written-question ranking's vote, fitted on the blind tune split (eval/fit.py):
# the best on tune that keeps the development set at 0.95 or above (3 was best on tune, 0.786
# against 0.774, but dropped the development set to 0.935).
QUESTION_WEIGHT = 2.0
# How many passages the question ranking votes for (its best ones), and how near their
# nearest written question must be to the asked one for its vote to count.
QUESTION_TOP = CANDIDATES
QUESTION_MIN = 0.5


class Retriever(ABC):
    """Returns the passages that best answer a planned query."""

    @abstractmethod
    def retrieve(
        self, plan: QueryPlan, k: int, filters: Filters | None = None
    ) -> list[Passage]: ...


class KeywordIndex:
    """BM25 (bm25s) over the chunks' heading-prefixed text, English stemming and stopwords."""

    def __init__(self, chunks: list[Chunk]):
        import bm25s

        self._bm25s = bm25s
        self.ids = [c.id for c in chunks]
        corpus = [c.indexed_text() for c in chunks]
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer(), show_progress=False)
        self.retriever = bm25s.BM25()
        self.retriever.index(tokens, show_progress=False)

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        tokens = self._bm25s.tokenize(
            [text], stopwords="en", stemmer=stemmer(), show_progress=False
        )
        if not tokens.vocab or not any(len(ids) for ids in tokens.ids):
            return []
        k = min(k, len(self.ids))
        # n_threads=0: in this thread (1 starts a thread pool per question)
        docs, scores = self.retriever.retrieve(tokens, k=k, show_progress=False, n_threads=0)
        return [
            (self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]


class HybridRetriever(Retriever):
    def __init__(
        self,
        chunks: list[Chunk],
        vectors: VectorStore,
        keywords: KeywordIndex,
        embedder: Embedder,
        sentences: SentenceVectors | None = None,
        questions: QuestionVectors | None = None,
        adapter: np.ndarray | None = None,
    ):
        self.chunks = {c.id: c for c in chunks}
        self.order = [c.id for c in chunks]  # the build's rows, as `sentences` numbers them
        self.vectors = vectors
        self.keywords = keywords
        self.embedder = embedder
        self.sentences = sentences  # None: a build from before sentence vectors
        self.questions = questions  # None: a build from before the question index
        self.unasked = unasked(chunks, questions.owners if questions is not None else ())
        self.adapter = adapter  # None: plain dense search (a build before it, or a test's)

    def query_vector(self, plan: QueryPlan) -> np.ndarray:
        """The question's unit vector, embedded once per plan (scope and composers reuse it)."""
        if plan.vector is None:
            qvec = self.embedder.embed_query(plan.search_text)
            plan.vector = qvec / (float(np.linalg.norm(qvec)) or 1.0)
        return plan.vector

    def adapted_vector(self, plan: QueryPlan) -> np.ndarray:
        """The question's vector as the dense ranking reads it: through the build's query
        adapter, when it has one (unit length)."""
        qvec = self.query_vector(plan)
        if self.adapter is None:
            return qvec
        moved = qvec @ self.adapter
        return moved / (float(np.linalg.norm(moved)) or 1.0)

    def part_vectors(self, plan: QueryPlan) -> np.ndarray:
        """The unit vectors of a multi-part question's parts (no rows for a question that
        asks one thing), embedded once per plan."""
        if plan.part_vectors is None:
            parts = plan.parts if len(plan.parts) > 1 else []
            dim = len(self.query_vector(plan))
            plan.part_vectors = (
                self.embedder.embed_batch(parts) if parts else np.zeros((0, dim), np.float32)
            )
        return plan.part_vectors

    def closest_questions(self, qvec: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Passages ranked by their nearest written question, best first."""
        if self.questions is None or not len(self.questions.texts) or not self.order:
            return []
        best = self.questions.best_per_passage(qvec, len(self.order))
        top = np.argsort(-best, kind="stable")[:k]
        return [(self.order[row], float(best[row])) for row in top if best[row] > -1.0]

    def closest_sentences(self, qvec: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Passages ranked by their closest sentence to the question, best first."""
        if self.sentences is None or not self.order:
            return []
        unit = qvec / (float(np.linalg.norm(qvec)) or 1.0)
        best = self.sentences.best_per_passage(unit, len(self.order))
        top = np.argsort(-best, kind="stable")[:k]
        return [(self.order[row], float(best[row])) for row in top if best[row] > -1.0]

    def dense_ranking(self, plan: QueryPlan, plain: list[tuple[str, float]]) -> dict[str, int]:
        """Each dense candidate's rank (0 best): through the adapter when the build has one,
        except for a document nobody wrote questions for. The adapter never learnt its
        language, so its passages keep their ranks in the plain search (`plain`)."""
        if self.adapter is None:
            return {cid: rank for rank, (cid, _) in enumerate(plain)}
        adapted = self.vectors.query(self.adapted_vector(plan), CANDIDATES)
        ranks = {cid: rank for rank, (cid, _) in enumerate(adapted) if cid not in self.unasked}
        if self.unasked:
            ranks |= {cid: rank for rank, (cid, _) in enumerate(plain) if cid in self.unasked}
        return ranks

    def score(self, plan: QueryPlan, filters: Filters | None = None) -> list[Scored]:
        """Every candidate with its fused score, best first (also used by the composer)."""
        qvec = self.query_vector(plan)
        plain = self.vectors.query(qvec, CANDIDATES)
        dense = self.dense_ranking(plan, plain)
        keyword = self.keywords.search(plan.search_text, CANDIDATES)
        closest = self.closest_sentences(qvec, CANDIDATES)
        # A follow-up's search text is the conversation run together, not a question: the
        # questions a passage answers are matched with questions only.
        asked = (
            self.closest_questions(qvec, QUESTION_TOP)
            if QUESTION_WEIGHT and not plan.followup
            else []
        )
        fused: dict[str, float] = {}
        for cid, rank in dense.items():
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
        dense_sim = dict(plain)  # the plain cosine, which the scope step's floors were fitted on
        for rank, (cid, _) in enumerate(keyword):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
        for rank, (cid, _) in enumerate(closest):
            fused[cid] = fused.get(cid, 0.0) + SENTENCE_WEIGHT / (RRF_K + rank)
        voted = False
        for rank, (cid, sim) in enumerate(asked):
            if sim < QUESTION_MIN:
                break
            fused[cid] = fused.get(cid, 0.0) + QUESTION_WEIGHT / (RRF_K + rank)
            voted = True
        if voted and self.unasked:
            # A document nobody wrote questions for (one a user added without a model) cannot
            # get the question ranking's vote, the heaviest: its passages would lose to any
            # passage that has one. They get the vote their other rankings average.
            other = 2.0 + (SENTENCE_WEIGHT if self.sentences is not None else 0.0)
            for cid in fused.keys() & self.unasked:
                fused[cid] += QUESTION_WEIGHT * fused[cid] / other
        results = []
        for cid, base in fused.items():
            chunk = self.chunks.get(cid)
            if chunk is None or (filters and not filters.allows(chunk.metadata())):
                continue
            results.append(Scored(chunk, base + self._boost(chunk, plan), dense_sim.get(cid, 0.0)))
        results.sort(key=lambda s: -s.score)
        return results

    @staticmethod
    def _boost(chunk: Chunk, plan: QueryPlan) -> float:
        unit = 1.0 / RRF_K  # one first-rank vote
        boost = 0.0
        if plan.tensions and chunk.tension:
            if chunk.tension == plan.tensions[0]:
                boost += 0.5 * unit
            elif chunk.tension in plan.tensions:
                boost += 0.25 * unit
        if plan.systems and chunk.systems:
            overlap = len(set(plan.systems) & set(chunk.systems))
            if overlap:
                boost += (0.6 + 0.2 * (overlap - 1)) * unit
        if plan.kinds and chunk.kind in plan.kinds:
            boost += 0.35 * unit
        if (
            plan.intent == "tension"
            and chunk.kind == "example"
            and chunk.tension in plan.tensions[:1]
        ):
            boost += 0.2 * unit
        if plan.doc_ids and chunk.doc_id in plan.doc_ids:
            boost += 0.8 * unit
        # A heading the question names, in any punctuation: the passages under it, its
        # subsections' included (a question about a section asks for all of it). The
        # document's own top heading is left out: it is over everything.
        asked = _words(plan.question)
        headings = [_words(h) for h in chunk.section.split(" > ")[1:] or [chunk.section]]
        if any(len(h) >= 10 and h in asked for h in headings):
            boost += 0.6 * unit
        return boost

    def retrieve(self, plan: QueryPlan, k: int, filters: Filters | None = None) -> list[Passage]:
        ranked = self.score(plan, filters)
        chosen = slate(ranked, plan, k, focus_tension(ranked, plan))
        return [to_passage(s.chunk, s.score) for s in chosen]


@lru_cache(maxsize=4096)
def _words(text: str) -> str:
    """Lower-case words joined by single spaces, padded: "Guide 1: Laying" matches "guide 1,
    laying" and never "guide 10"."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def to_passage(chunk: Chunk, score: float) -> Passage:
    meta = chunk.metadata()
    meta["systems"] = list(chunk.systems)
    return Passage(
        chunk.id, chunk.doc_id, chunk.title, chunk.section, chunk.text, round(float(score), 6), meta
    )
