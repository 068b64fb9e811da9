"""The assistant as one object: open the live index, answer questions, serve sources.

The app and the CLI both hold one `Assistant`. It notices a newly published index (a
cheap read of the CURRENT pointer per request) and swaps to it whole, so askers never see
a half-written library.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from assistant.answer import scope as scoping
from assistant.answer.composer import Composer
from assistant.answer.offline import OfflineComposer
from assistant.answer.scope import ScopeDecision
from assistant.answer.stream import AnswerStream
from assistant.core import catalog as framework
from assistant.core.background import in_background
from assistant.core.catalog import Catalog, Example, Finding, Question
from assistant.core.errors import InvalidHistory, InvalidQuestion
from assistant.core.safety import instruction_like
from assistant.core.settings import Settings
from assistant.core.types import Answer, Chunk, Filters, Passage, Turn
from assistant.embedding.choice import load_query_embedder
from assistant.embedding.embedder import Embedder
from assistant.retrieval.hybrid import to_passage
from assistant.retrieval.library import LoadedIndex, Retrieved, open_index
from assistant.retrieval.query import QueryPlan, clean_question, last_answer, plan_query
from assistant.retrieval.related import related_questions, suggested_questions
from assistant.storage.builds import current_build_id, live_build_path


def make_composer(settings: Settings) -> Composer:
    """The composer the settings choose: offline unless a language model is configured."""
    if settings.llm in ("", "none"):
        return OfflineComposer()
    from assistant.llm import LLMComposer

    return LLMComposer.from_settings(settings)


class Assistant:
    def __init__(self, settings: Settings, embedder: Embedder, composer: Composer | None = None):
        self.settings = settings
        self.embedder = embedder
        self.composer = composer or OfflineComposer()
        self._lock = threading.Lock()
        self._index = open_index(settings, embedder)

    # -- index lifecycle ---------------------------------------------------------------
    @property
    def index(self) -> LoadedIndex:
        """The live index, reopened if a newer build was published since the last call."""
        live = current_build_id(self.settings.store_dir)
        if live and live != self._index.build_id:
            with self._lock:
                if live != self._index.build_id:
                    self._index = open_index(self.settings, self.embedder)
        return self._index

    # -- questions ---------------------------------------------------------------------
    def retrieve(
        self,
        question: str,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> list[Passage]:
        plan, index = self.plan(question, history)
        found = index.retrieve(plan, k or self.settings.top_k, filters)
        return [to_passage(s.chunk, s.score) for s in found.chosen]

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        composer: Composer | None = None,
    ) -> Answer:
        """A cited answer. `composer` overrides this Assistant's own for one question (the
        app's sidebar choice), so one loaded index serves every choice of model."""
        composer = composer or self.composer
        index, found, decision, refusal = self._route(question, history, filters, composer)
        answer = refusal or composer.compose(found, index, decision)
        return self._noting_rewrite(self._answered(answer, found, index, decision), question)

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        composer: Composer | None = None,
    ) -> AnswerStream:
        """Like `ask`, as checked text pieces while the answer is written. The question is
        validated, planned, retrieved and its scope decided before this returns; the writing
        happens as the stream is read."""
        composer = composer or self.composer
        index, found, decision, refusal = self._route(question, history, filters, composer)
        stream = AnswerStream.ready(refusal) if refusal else composer.stream(found, index, decision)

        def pieces():
            yield from stream
            return self._noting_rewrite(
                self._answered(stream.result(), found, index, decision), question
            )

        return AnswerStream(pieces(), stream.writer)

    def _route(
        self,
        question: str,
        history: Sequence[Turn],
        filters: Filters | None,
        composer: Composer,
    ) -> tuple[LoadedIndex, Retrieved | None, ScopeDecision, Answer | None]:
        """Plan, retrieve and decide scope once; the last item is the refusal when the
        question is declined before any composing.

        A new question's search queries do not change its own ranking, so while the model
        writes them the question is ranked (and a confident refusal does not wait for them)."""
        plan, index, reading = self._read(question, history, composer, ahead=True)
        found, decision = self.scope(plan, index, filters, reading)
        if composer.judges_scope:
            # On the model path the scope step only pre-filters where it is confident; a
            # doubtful refusal is retrieved for and left to the model.
            if decision.confident and not decision.in_scope:
                found = None
            elif found is None:
                self._add_queries(plan, reading.result() if reading is not None else None)
                found = index.retrieve(plan, self.settings.top_k, filters)
        if found is None or not (decision.in_scope or composer.judges_scope):
            return index, found, decision, composer.declined(decision.refusal(plan), found, index)
        return index, found, decision, None

    @staticmethod
    def _answered(
        answer: Answer, found: Retrieved | None, index: LoadedIndex, decision: ScopeDecision
    ) -> Answer:
        """The answer with its scope (a composer that judges scope, a model's reply, sets its
        own; otherwise the scope step's decision stands) and, unless it is a refusal, the
        related questions from the question index."""
        if not answer.scope:
            answer = replace(answer, scope=decision.outcome)
        answered = replace(decision, outcome=answer.scope)
        return replace(answer, related=_related(found, index, answered))

    def scope(
        self,
        plan: QueryPlan,
        index: LoadedIndex,
        filters: Filters | None = None,
        queries: Future[Any] | None = None,
    ) -> tuple[Retrieved | None, ScopeDecision]:
        """Retrieve once and decide whether the library answers (no retrieval at all when
        the question alone settles it). `queries`: the model's search call, still running;
        the question is ranked meanwhile and its queries fused in when they come."""
        decision = scoping.precheck(plan, index)
        if decision is not None:
            return None, decision
        ranked = None
        if queries is not None:
            ranked = index.rank(plan, filters)
            self._add_queries(plan, queries.result())
        found = index.retrieve(plan, self.settings.top_k, filters, ranked)
        return found, scoping.decide(found, index)

    def plan(
        self, question: str, history: Sequence[Turn] = (), composer: Composer | None = None
    ) -> tuple[QueryPlan, LoadedIndex]:
        """Validate the input and read the question against the live index's documents.

        A composer with a language model rewrites a follow-up into a standalone question,
        which is then planned on its own; otherwise the follow-up is planned from the history.
        """
        plan, index, reading = self._read(question, history, composer, ahead=True)
        return plan, index

    def _read(
        self,
        question: str,
        history: Sequence[Turn],
        composer: Composer | None,
        ahead: bool,
    ) -> tuple[QueryPlan, LoadedIndex, Future[Any] | None]:
        """`plan`, with the model's search call left running when `ahead` and the question
        is not a follow-up (its reply then brings only search queries, read by
        `_add_queries`); otherwise the queries are on the plan already."""
        question = clean_question(question, self.settings.max_question_chars)
        turns = validate_history(history)
        index = self.index
        titles = [str(d.get("title") or "") for d in index.documents.values()]
        composer = composer or self.composer
        if ahead and composer.searches and not any(t.role == "user" for t in turns):
            pending = in_background(composer.search, question, turns, titles, name="lbw-search")
            return plan_query(question, turns, index.documents), index, pending
        reading = composer.search(question, turns, titles)
        standalone = self._checked_rewrite(reading.standalone) if reading else None
        if standalone:
            plan = plan_query(standalone, [], index.documents)
            plan.previous_answer = last_answer(turns)
        else:
            plan = plan_query(question, turns, index.documents)
        self._add_queries(plan, reading)
        return plan, index, None

    def _add_queries(self, plan: QueryPlan, reading: Any) -> None:
        """The model's search queries (a SearchReading, or None) that pass the checks a typed
        question passes."""
        if reading and not plan.queries:
            queries = (self._checked_rewrite(q) for q in reading.queries)
            plan.queries = [q for q in queries if q]

    def _checked_rewrite(self, rewrite: str | None) -> str | None:
        """A model's rewrite of a follow-up passes the checks a typed question passes, and
        must not carry instructions ("ignore previous instructions"); else the follow-up is
        planned from the history by rule."""
        if not rewrite:
            return None
        try:
            rewrite = clean_question(rewrite, self.settings.max_question_chars)
        except InvalidQuestion:
            return None
        return None if instruction_like(rewrite) else rewrite

    def _noting_rewrite(self, answer: Answer, question: str) -> Answer:
        """Record the standalone question the answer was retrieved for, if it was rewritten."""
        if answer.question != clean_question(question, self.settings.max_question_chars):
            answer.verification = replace(answer.verification, standalone_question=answer.question)
        return answer

    # -- the library -------------------------------------------------------------------
    def documents(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k != "text"} for d in self.index.documents.values()]

    def document_text(self, doc_id: str) -> str:
        return self.index.documents[doc_id]["text"]

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self.index.by_id.get(chunk_id)

    def chunks(self) -> dict[str, Chunk]:
        """Every indexed passage (chunk) of the live index by id; `chunk(id)` also finds the
        sections retrieval shows in their place."""
        return self.index.retriever.chunks

    # -- the framework as data (built by ingest.catalog) ------------------------------
    def catalog(self) -> Catalog:
        return self.index.catalog

    def examples(
        self, tension: str | None = None, side: str | None = None, system: str | None = None
    ) -> list[Example]:
        return framework.examples(self.index.catalog, tension, side, system)

    def findings(self, tension: str | None = None) -> list[Finding]:
        return framework.findings(self.index.catalog, tension)

    def questions(self, tension: str | None = None) -> list[Question]:
        return framework.questions(self.index.catalog, tension)

    def suggested_questions(self, n: int = 6) -> list[str]:
        """Questions to start from, written for the library's passages (none without a
        question index)."""
        return suggested_questions(self.index, n)

    def warm(self) -> None:
        """Run one query end to end so the first user question is not the slow one."""
        self.ask("How do districts decide where to pilot?")


def _related(found: Retrieved | None, index: LoadedIndex, decision: ScopeDecision) -> list[str]:
    """The questions shown under an answer the library gives (none under a refusal)."""
    if found is None or not decision.in_scope:
        return []
    return related_questions(found, index)


def validate_history(history: Sequence[Any] | None) -> list[Turn]:
    """Accept Turns or {"role", "content"} dicts; anything else is a clear error."""
    if not history:
        return []
    if not isinstance(history, list | tuple):
        raise InvalidHistory('History must be a list of {"role": ..., "content": ...} messages.')
    turns = []
    for i, item in enumerate(history):
        if isinstance(item, Turn):
            turns.append(item)
            continue
        if (
            not isinstance(item, dict)
            or item.get("role") not in ("user", "assistant")
            or not isinstance(item.get("content"), str)
        ):
            raise InvalidHistory(
                f'History message {i + 1} must be an object with "role" ("user" or "assistant") '
                'and "content" (text).'
            )
        turns.append(Turn(item["role"], item["content"]))
    return turns


def load_assistant(
    settings: Settings, embedder: Embedder | None = None, composer: Composer | None = None
) -> Assistant:
    """Open the live index (IndexMissing if there is none) with the settings' embedder and the
    composer the settings choose (LLMConfigError when the chosen model cannot be set up)."""
    live_build_path(settings)  # fail fast, before loading the model, when there is no index
    composer = composer or make_composer(settings)
    if embedder is None:
        embedder = load_query_embedder(settings)
    return Assistant(settings, embedder, composer)
