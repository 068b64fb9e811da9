"""The assistant as one object: open the live index, answer questions, serve sources.

The app and the CLI both hold one `Assistant`. It notices a newly published index (a
cheap read of the CURRENT pointer per request) and swaps to it whole, so askers never see
a half-written library.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.answer.offline import AnswerStream, Composer, OfflineComposer, make_composer
from assistant.core import catalog as framework
from assistant.core.domain import SYSTEMS
from assistant.core.errors import InvalidHistory
from assistant.core.settings import Settings
from assistant.core.text import TermStats
from assistant.core.types import Answer, Chunk, Filters, Passage, Turn
from assistant.embedding.embedder import Embedder
from assistant.embedding.onnx import load_query_embedder
from assistant.llm.verify import LibraryWords
from assistant.retrieval.hybrid import HybridRetriever, KeywordIndex
from assistant.retrieval.query import QueryPlan, clean_question, plan_query
from assistant.storage.builds import current_build_id, live_build_path, read_build_files
from assistant.storage.vectors import open_build_store


@dataclass
class LoadedIndex:
    """One published build, fully loaded."""

    build_id: str
    chunks: list[Chunk]
    documents: dict[str, dict[str, Any]]
    catalog: dict[str, Any]
    retriever: HybridRetriever

    @property
    def by_id(self) -> dict[str, Chunk]:
        return self.retriever.chunks

    # Derived once per build, shared by every composer (offline, and each language model).
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

    @cached_property
    def library_words(self) -> LibraryWords:
        """The library's vocabulary and own names (the answer checker)."""
        names = [
            name
            for d in self.documents.values()
            for name in (d.get("title"), d.get("publisher"), *(d.get("authors") or ()))
            if name
        ]
        return LibraryWords.build((c.text for c in self.chunks), names)


def open_index(settings: Settings, embedder: Embedder) -> LoadedIndex:
    path = live_build_path(settings)
    files = read_build_files(path, with_embeddings=False)
    store = open_build_store(settings, path, files.meta)
    retriever = HybridRetriever(files.chunks, store, KeywordIndex(files.chunks), embedder)
    return LoadedIndex(path.name, files.chunks, files.documents, files.catalog, retriever)


class Assistant:
    def __init__(self, settings: Settings, embedder: Embedder, composer: Composer | None = None):
        self.settings = settings
        self.embedder = embedder
        self.composer = composer or OfflineComposer(settings.top_k)
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
        return index.retriever.retrieve(plan, k or self.settings.top_k, filters)

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
        plan, index = self.plan(question, history, composer)
        return self._noting_rewrite(composer.compose(plan, index, filters), question)

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        composer: Composer | None = None,
    ) -> AnswerStream:
        """Like `ask`, as checked text pieces while the answer is written. The question is
        validated, planned and retrieved before this returns; the writing happens as the
        stream is read."""
        composer = composer or self.composer
        plan, index = self.plan(question, history, composer)
        stream = composer.stream(plan, index, filters)

        def pieces():
            yield from stream
            return self._noting_rewrite(stream.result(), question)

        return AnswerStream(pieces())

    def plan(
        self, question: str, history: Sequence[Turn] = (), composer: Composer | None = None
    ) -> tuple[QueryPlan, LoadedIndex]:
        """Validate the input and read the question against the live index's documents.

        A composer with a language model rewrites a follow-up into a standalone question,
        which is then planned on its own; otherwise the follow-up is planned from the history.
        """
        question = clean_question(question, self.settings.max_question_chars)
        turns = validate_history(history)
        standalone = (composer or self.composer).rewrite(question, turns) if turns else None
        index = self.index
        if standalone:
            plan = plan_query(standalone, [], index.documents)
        else:
            plan = plan_query(question, turns, index.documents)
        return plan, index

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
        """Every passage of the live index by id (discussion prompts look up quoted words)."""
        return self.index.by_id

    # -- the framework as data (built by ingest.catalog) ------------------------------
    def catalog(self) -> dict[str, list[dict[str, Any]]]:
        return self.index.catalog

    def examples(
        self, tension: str | None = None, side: str | None = None, system: str | None = None
    ) -> list[dict[str, Any]]:
        return framework.examples(self.index.catalog, tension, side, system)

    def findings(self, tension: str | None = None) -> list[dict[str, Any]]:
        return framework.findings(self.index.catalog, tension)

    def questions(self, tension: str | None = None) -> list[dict[str, Any]]:
        return framework.questions(self.index.catalog, tension)

    def warm(self) -> None:
        """Run one query end to end so the first user question is not the slow one."""
        self.ask("How do districts decide where to pilot?")


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


def read_history_file(path: str | Path) -> list[Turn]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidHistory(f"History file not found: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidHistory(f"History file {path} is not valid JSON: {exc}") from exc
    return validate_history(data)


def load_assistant(
    settings: Settings, embedder: Embedder | None = None, composer: Composer | None = None
) -> Assistant:
    """Open the live index (IndexMissing if there is none) with the default embedder and the
    composer the settings choose (LLMConfigError when the chosen model cannot be set up)."""
    live_build_path(settings)  # fail fast, before loading the model, when there is no index
    composer = composer or make_composer(settings)
    if embedder is None:
        embedder = load_query_embedder(settings.models_dir, settings.model_path)
    return Assistant(settings, embedder, composer)
