"""One published build, loaded for questions: its passages, documents and catalog, the
hybrid retriever over them, and what later steps derive from them once per build.

`retrieve` is the one retrieval a question gets: the fused ranking, the tension it is
about and the slate of passages, computed once and handed on to the scope decision and the
composer, which never retrieve themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, TypeVar

import numpy as np

from assistant.core.domain import SYSTEMS
from assistant.core.errors import EmbedderMismatch
from assistant.core.settings import Settings
from assistant.core.text import TermStats, split_sentences
from assistant.core.types import Chunk, Filters
from assistant.embedding.choice import MODEL_IDS
from assistant.embedding.embedder import Embedder
from assistant.retrieval.hybrid import HybridRetriever, KeywordIndex
from assistant.retrieval.query import QueryPlan
from assistant.retrieval.sections import parents
from assistant.retrieval.slate import Scored, focus_tension, slate
from assistant.storage.builds import SentenceVectors, open_live
from assistant.storage.questions import QuestionVectors, read_adapter, read_questions
from assistant.storage.vectors import open_build_store

T = TypeVar("T")

# Reciprocal-rank fusion of a question's ranking with those of a model's search queries:
# each list adds weight / (RRF_K + rank); the question's own ranking counts fully.
RRF_K = 60
QUERY_WEIGHT = 0.5
QUERY_DEPTH = 20  # a query adds only its own top passages (the question's list is whole)

# A section up to this long is returned whole when one of its chunks is hit (fitted on the
# blind tune split, eval/fit.py); longer ones return the hit with its neighbours.
PARENT_CHARS = 4000


@dataclass
class Retrieved:
    """What one retrieval found for a planned question."""

    plan: QueryPlan
    ranked: list[Scored]  # every candidate, best first
    chosen: list[Scored]  # the slate: the passages an answer may cite
    tension: str | None  # the tension the question is about, if any
    filters: Filters | None = None
    # The cosine of the written question nearest the asked one (None: no question index).
    nearest_question: float | None = None


@dataclass
class LoadedIndex:
    """One published build, fully loaded."""

    build_id: str
    chunks: list[Chunk]
    documents: dict[str, dict[str, Any]]
    catalog: dict[str, Any]
    retriever: HybridRetriever
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)
    _sentences: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def shown(self) -> dict[str, Chunk]:
        """For each chunk id, the passage shown for it (its section, or it with neighbours)."""
        return parents(self.chunks, PARENT_CHARS)

    @cached_property
    def by_id(self) -> dict[str, Chunk]:
        """Every passage a citation can name: the chunks and the sections shown for them."""
        return {**self.retriever.chunks, **{c.id: c for c in self.shown.values()}}

    def retrieve(
        self,
        plan: QueryPlan,
        k: int,
        filters: Filters | None = None,
        ranked: list[Scored] | None = None,
    ) -> Retrieved:
        """`ranked`, the question's own ranking (`rank`) when it was computed ahead (while a
        model wrote the search queries); the queries in `plan.queries` are fused with it."""
        if ranked is None:
            ranked = self.rank(plan, filters)
        tension = focus_tension(ranked, plan)
        passages = self._as_shown(ranked)
        if plan.queries:
            passages = self._fused(passages, plan, filters)
        chosen = slate(passages, plan, k, tension, self.added_documents)
        return Retrieved(plan, passages, chosen, tension, filters, self._nearest_question(plan))

    def rank(self, plan: QueryPlan, filters: Filters | None = None) -> list[Scored]:
        """The question's own ranking, every candidate best first (no search queries)."""
        return self.retriever.score(plan, filters)

    def _nearest_question(self, plan: QueryPlan) -> float | None:
        questions = self.question_vectors
        if questions is None or not len(questions.texts):
            return None
        return questions.nearest(self.retriever.query_vector(plan), 1)[0][1]

    def _fused(self, passages: list[Scored], plan: QueryPlan, filters: Filters | None):
        """The question's ranking fused with its search queries' (reciprocal rank). Each
        passage keeps the question's own score (what the scope step reads) where it has one."""
        from dataclasses import replace

        lists = [(1.0, passages)]
        for query in plan.queries:
            extra = replace(plan, question=query, search_text=query, queries=[], vector=None)
            ranked = self._as_shown(self.retriever.score(extra, filters))[:QUERY_DEPTH]
            lists.append((QUERY_WEIGHT, ranked))
        fused: dict[str, float] = {}
        first: dict[str, Scored] = {}
        for weight, ranking in lists:
            for rank, scored in enumerate(ranking):
                key = scored.chunk.id
                fused[key] = fused.get(key, 0.0) + weight / (RRF_K + rank + 1)
                first.setdefault(key, scored)
        return [first[key] for key in sorted(fused, key=lambda key: -fused[key])]

    def _as_shown(self, ranked: list[Scored]) -> list[Scored]:
        """The ranking in shown passages: each at its best chunk's place, once."""
        out: list[Scored] = []
        seen: set[str] = set()
        for s in ranked:
            passage = self.shown.get(s.chunk.id, s.chunk)
            if passage.id not in seen:
                seen.add(passage.id)
                out.append(s if passage is s.chunk else Scored(passage, s.score, s.dense))
        return out

    def sentences(self, chunk: Chunk) -> tuple[list[str], np.ndarray]:
        """A passage's sentences (assistant.core.text.split_sentences) and their unit vectors
        from the question embedder: those ingest stored, else embedded on first use; kept for
        this build. The scope step and the composers compare the question with sentences,
        not whole passages."""
        with self._lock:
            cached = self._sentences.get(chunk.id)
        if cached is None:
            cached = self._stored_sentences(chunk)
            if cached is None:
                texts = split_sentences(chunk.text)
                vectors = (
                    self.retriever.embedder.embed_batch(texts)
                    if texts
                    else np.zeros((0, 1), dtype=np.float32)
                )
                cached = (texts, vectors)
            with self._lock:
                self._sentences[chunk.id] = cached
        return cached

    @property
    def sentence_vectors(self) -> SentenceVectors | None:
        """The sentences ingest embedded (None: a build from before them); the retriever's."""
        return self.retriever.sentences

    @cached_property
    def added_documents(self) -> frozenset[str]:
        """The ids of the documents a user added (their records carry when)."""
        return frozenset(d for d, rec in self.documents.items() if rec.get("added"))

    @property
    def question_vectors(self) -> QuestionVectors | None:
        """The questions written for the passages (None: a build from before them)."""
        return self.retriever.questions

    @cached_property
    def rows(self) -> dict[str, int]:
        """Each chunk's row in the build (its place in `chunks`, in document order)."""
        return {c.id: i for i, c in enumerate(self.chunks)}

    def _stored_sentences(self, passage: Chunk) -> tuple[list[str], np.ndarray] | None:
        """A passage's sentences as ingest embedded them: a chunk's own, or a shown
        section's, made of its chunks' ("a+b+c"). None when the build has none for it."""
        if self.sentence_vectors is None:
            return None
        rows = [self.rows.get(part) for part in passage.id.split("+")]
        if any(row is None for row in rows):
            return None
        parts = [self.sentence_vectors.of(row) for row in rows if row is not None]
        texts = [t for part_texts, _ in parts for t in part_texts]
        if not texts:
            return None
        return texts, np.vstack([vectors for _, vectors in parts if len(vectors)])

    def derived(self, key: str, build: Callable[[LoadedIndex], T]) -> T:
        """A value computed from this build once and kept with it (the language model's
        answer checker keeps the library's vocabulary here), so a layer above retrieval can
        cache per build without this module knowing what it is."""
        with self._lock:
            if key not in self._derived:
                self._derived[key] = build(self)
            return self._derived[key]

    # Derived once per build, shared by the scope decision and every composer.
    @cached_property
    def term_stats(self) -> TermStats:
        """How rare each word is in the library (the in-scope gate)."""
        return TermStats(c.indexed_text() for c in self.chunks)

    @cached_property
    def known_names(self) -> list[str]:
        """Names the library knows under another spelling: system short forms ("CPS") and
        document titles and aliases ("TLA")."""
        names = [alias for system in SYSTEMS for alias in system.aliases]
        for doc in self.documents.values():
            names += [doc.get("title", ""), *(doc.get("aliases") or [])]
            names += [doc.get("publisher") or "", *(doc.get("authors") or [])]
        return names


@cache
def blas_on_one_core() -> None:
    """Run numpy's BLAS on one thread in a process that answers questions.

    Why: a question's products with the stored sentence and question vectors (about 1,300 x
    384 each) take 0.2 ms on one core, but OpenBLAS splits them over every core, and waking
    its other thread, on a machine where other work holds that core, took 7-10 ms per product
    (two per question): most of a slow retrieval's time. On one thread each row's dot
    product is computed the same way, so the cosines are unchanged.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - declared in pyproject; a product is still right
        return
    threadpool_limits(1, user_api="blas")


def open_index(settings: Settings, embedder: Embedder, check_model: bool = True) -> LoadedIndex:
    """The live build, searched with `embedder`; EmbedderMismatch when another model made
    its vectors (a question's vector would be compared with vectors of another space).
    `check_model=False` only for readers that never embed a question."""
    blas_on_one_core()
    files = open_live(settings)
    assert files.path is not None
    built_by = files.meta.get("model_id")
    if check_model and built_by != embedder.model_id:
        names = {model: name for name, model in MODEL_IDS.items()}
        back = (
            f"LBW_EMBEDDER={names[built_by]}" if built_by in names else "the embedder that built it"
        )
        raise EmbedderMismatch(
            f"The index in {settings.store_dir} was built by {built_by}, but questions are "
            f"embedded by {embedder.model_id} (LBW_EMBEDDER={settings.embedder}): their vectors "
            f"cannot be compared. Run `lbw ingest` to rebuild the index with this embedder, "
            f"or ask with {back}."
        )
    store = open_build_store(settings, files.path, files.meta)
    keywords = KeywordIndex(files.chunks)
    questions = read_questions(files.path, len(files.chunks))
    # The adapter multiplies a question's vector: it must be square in the build's dimension.
    dims = {m.vectors.shape[1] for m in (files.sentences, questions) if m is not None and m.texts}
    adapter = read_adapter(files.path, dims.pop() if len(dims) == 1 else None)
    retriever = HybridRetriever(
        files.chunks, store, keywords, embedder, files.sentences, questions, adapter
    )
    return LoadedIndex(files.path.name, files.chunks, files.documents, files.catalog, retriever)
