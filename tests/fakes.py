"""The test fakes, each a real subclass of the interface it stands in for, with exact and
deterministic behaviour: an embedder whose vectors are bag-of-words hashes, a chat model
with scripted replies, and an Assistant with a canned library and answer.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.answer.composer import Composer
from assistant.answer.stream import AnswerStream
from assistant.core import catalog as framework
from assistant.core.catalog import Catalog, Example, Finding, Question
from assistant.core.settings import Settings
from assistant.core.types import Answer, Chunk, Citation, Filters, Turn, Verification
from assistant.embedding.embedder import Embedder
from assistant.retrieval.query import clean_question
from assistant.service import Assistant
from assistant.storage.vectors import VectorStore

# A slice of the real catalog that `lbw ingest` builds (verbatim records: four district
# examples across sides, the pace finding with a blog-sourced lean and notes, the
# locus-of-control finding with no leans) and the passages they cite.
CATALOG_SAMPLE = json.loads(
    (Path(__file__).parent / "catalog_sample.json").read_text(encoding="utf-8")
)


class HashingEmbedder(Embedder):
    """Bag-of-words vectors: each word adds 1 to a hashed dimension; rows are unit length.

    Texts that share words get similar vectors, so retrieval tests are meaningful without the
    real model. `calls` counts embed_batch calls and `texts` counts texts embedded.
    """

    model_id = "test/hashing"

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.calls = 0
        self.texts = 0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                vectors[row, int.from_bytes(digest, "big") % self.dim] += 1.0
            norm = np.linalg.norm(vectors[row])
            if norm:
                vectors[row] /= norm
            else:
                vectors[row, 0] = 1.0  # no words: still a unit vector
        return vectors


class MemoryStore(VectorStore):
    """Exact nearest-neighbour search over vectors held in memory, best first, ties by id:
    a retriever over a handful of passages without a Chroma collection."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.vectors = np.zeros((0, 0), dtype=np.float32)

    def add(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        self.ids += list(ids)
        rows = np.asarray(vectors, dtype=np.float32)
        self.vectors = rows if not len(self.vectors) else np.vstack([self.vectors, rows])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        sims = self.vectors @ np.asarray(vector, dtype=np.float32) if self.ids else []
        ranked = sorted(zip(self.ids, map(float, sims), strict=True), key=lambda x: (-x[1], x[0]))
        return ranked[:k]

    def count(self) -> int:
        return len(self.ids)


class CountingEmbedder(HashingEmbedder):
    """Counts how often each text was embedded (`seen`): a question read by several steps
    (retrieval, scope, the composer) must still be embedded once."""

    def __init__(self, dim: int = 256):
        super().__init__(dim)
        self.seen: Counter[str] = Counter()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.update(texts)
        return super().embed_batch(texts)


class ExplodingEmbedder(HashingEmbedder):
    """Fails after `after` batches (0: at once): an ingest killed half-way through embedding."""

    def __init__(self, after: int = 0):
        super().__init__()
        self.after = after

    def embed_batch(self, texts):
        if self.calls >= self.after:
            raise RuntimeError("embedding backend died")
        return super().embed_batch(texts)


Reply = str | Exception | Callable[[list[BaseMessage]], str] | tuple[str, Exception]


class FakeChatModel(BaseChatModel):
    """A langchain chat model with scripted replies, one per call, in order.

    A reply is a string, an exception to raise, a function of the messages (so a test can
    answer from the passages the prompt actually holds), or (text, exception): a model that
    streams `text` and then fails. `calls` records every call's
    messages and whether it streamed; `delay` sleeps before replying (a slow model).
    Streaming sends the reply a few characters at a time, splitting words and markers.
    """

    replies: list[Any] = Field(default_factory=list)
    calls: list[dict[str, Any]] = Field(default_factory=list)
    delay: float = 0.0
    piece: int = 7

    @property
    def _llm_type(self) -> str:
        return "fake-scripted"

    def _reply(self, messages: list[BaseMessage], streamed: bool) -> str:
        self.calls.append({"messages": messages, "stream": streamed})
        if not self.replies:
            raise AssertionError("FakeChatModel: no scripted reply left")
        reply = self.replies.pop(0)
        if self.delay:
            time.sleep(self.delay)
        if isinstance(reply, Exception):
            raise reply
        return reply(messages) if callable(reply) else reply

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        text = self._reply(messages, streamed=False)
        if isinstance(text, tuple):
            raise text[1]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator:
        text, error = self._reply(messages, streamed=True), None
        if isinstance(text, tuple):
            text, error = text
        for i in range(0, len(text), self.piece):
            yield ChatGenerationChunk(message=AIMessageChunk(content=text[i : i + self.piece]))
        if error is not None:
            raise error

    def prompt(self, call: int = -1) -> str:
        """The user message of a call: the passages and the question as the model saw them."""
        return self.calls[call]["messages"][-1].content


def prompt_passages(messages: list[BaseMessage]) -> dict[int, str]:
    """{n: text} of the numbered passages in an answer prompt (the Source line dropped)."""
    found = re.findall(
        r'<passage n="(\d+)">\nSource: [^\n]*\n(.*?)\n</passage>', messages[-1].content, re.S
    )
    return {int(n): text for n, text in found}


class FakeAssistant(Assistant):
    """An Assistant with a canned library and answer; no index, model or Chroma.

    Questions are validated by the real `clean_question`, so empty, too long or control-
    character questions raise InvalidQuestion as in production. Set `error` to make `ask`
    raise it; `asked` records every (question, history, filters) that reached `ask`.
    The framework (`framework_data`, a copy of CATALOG_SAMPLE that a test may edit) is
    filtered by the real functions in assistant.core.catalog; `chunk` serves its passages.
    """

    TITLE = "Look Both Ways"
    PASSAGE = "Districts that prioritized readiness started where leaders were eager to pilot."

    def __init__(self, passage: str = PASSAGE, in_scope: bool = True):
        self.settings = Settings()
        self.passage = passage
        self.in_scope = in_scope
        self.error: Exception | None = None
        self.answered_by = "offline"
        self.verification = Verification()
        self.more = ""  # the answer's "More from the library"
        self.more_citations: list[Citation] = []  # the citations only `more` uses
        self.related: list[str] = []  # the answer's related questions
        self.suggestions: list[str] = []  # suggested_questions (empty: the fixed starters)
        self.composers: list[Composer | None] = []
        self.asked: list[tuple[str, list[Turn], Filters | None]] = []
        self.warmed = 0
        sample = copy.deepcopy(CATALOG_SAMPLE)
        self.passages = {c["id"]: Chunk.from_record(c) for c in sample.pop("chunks")}
        self.framework_data: dict[str, list[dict[str, Any]]] = sample
        self.docs = {
            "look-both-ways": {
                "id": "look-both-ways",
                "title": self.TITLE,
                "kind": "whitepaper",
                "file": "look-both-ways.txt",
                "authors": ["Ellie Avishai", "Beth Rabbitt"],
                "publisher": "The Learning Accelerator",
                "date": "2018-06",
                "licence": "CC BY 4.0",
                "aliases": [],
                "text": "Q3. Need or readiness?\n" + passage,
            },
            "scale-what": {
                "id": "scale-what",
                "title": "Scale What?",
                "kind": "blog",
                "file": "scale-what.txt",
                "authors": [],
                "publisher": None,
                "date": None,
                "licence": None,
                "aliases": ["Scale What"],
                "text": "Seed, spread, scale. <script>alert(1)</script> **not bold**",
            },
        }

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        composer: Composer | None = None,
    ) -> Answer:
        question = clean_question(question, self.settings.max_question_chars)
        self.asked.append((question, list(history), filters))
        self.composers.append(composer)
        if self.error is not None:
            raise self.error
        if not self.in_scope:
            return Answer(question, "The library does not cover that question.", False)
        citation = Citation(
            1,
            "look-both-ways#0042",
            "look-both-ways",
            self.TITLE,
            "Q3 › Why Prioritize Readiness?",
            self.passage,
            "22-23",
        )
        return Answer(
            question,
            f"Some districts started with ready schools [1]. (You asked: {question})",
            True,
            [citation, *self.more_citations],
            self.answered_by,
            self.verification,
            more=self.more,
            related=list(self.related),
        )

    def suggested_questions(self, n: int = 6) -> list[str]:
        return self.suggestions[:n]

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        composer: Composer | None = None,
    ) -> AnswerStream:
        """The canned answer, streamed a word at a time (validation happens up front)."""
        answer = self.ask(question, history, filters, composer)

        def pieces():
            yield from re.findall(r"\S+\s*", answer.answer)
            return answer

        return AnswerStream(pieces())

    def documents(self) -> list[dict]:
        return [{k: v for k, v in d.items() if k != "text"} for d in self.docs.values()]

    def document_text(self, doc_id: str) -> str:
        return self.docs[doc_id]["text"]

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self.passages.get(chunk_id)

    def chunks(self) -> dict[str, Chunk]:
        return dict(self.passages)

    def catalog(self) -> Catalog:
        return self.framework_data

    def examples(
        self, tension: str | None = None, side: str | None = None, system: str | None = None
    ) -> list[Example]:
        return framework.examples(self.framework_data, tension, side, system)

    def findings(self, tension: str | None = None) -> list[Finding]:
        return framework.findings(self.framework_data, tension)

    def questions(self, tension: str | None = None) -> list[Question]:
        return framework.questions(self.framework_data, tension)

    def warm(self) -> None:
        self.warmed += 1
