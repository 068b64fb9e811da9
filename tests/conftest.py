"""Shared test fakes: real subclasses of our interfaces, with exact, deterministic behaviour."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence

import numpy as np
import pytest

from assistant.embedder import Embedder
from assistant.query import clean_question
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import Answer, Citation, Filters, Turn


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


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


class FakeAssistant(Assistant):
    """An Assistant with a canned library and answer; no index, model or Chroma.

    Questions are validated by the real `clean_question`, so empty, too long or control-
    character questions raise InvalidQuestion as in production. Set `error` to make `ask`
    raise it; `asked` records every (question, history, filters) that reached `ask`.
    """

    TITLE = "Look Both Ways"
    PASSAGE = "Districts that prioritized readiness started where leaders were eager to pilot."

    def __init__(self, passage: str = PASSAGE, in_scope: bool = True):
        self.settings = Settings()
        self.passage = passage
        self.in_scope = in_scope
        self.error: Exception | None = None
        self.asked: list[tuple[str, list[Turn], Filters | None]] = []
        self.warmed = 0
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
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None
    ) -> Answer:
        question = clean_question(question, self.settings.max_question_chars)
        self.asked.append((question, list(history), filters))
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
            [citation],
        )

    def documents(self) -> list[dict]:
        return [{k: v for k, v in d.items() if k != "text"} for d in self.docs.values()]

    def document_text(self, doc_id: str) -> str:
        return self.docs[doc_id]["text"]

    def examples(self) -> list[dict]:
        return []

    def warm(self) -> None:
        self.warmed += 1


@pytest.fixture
def fake_assistant() -> FakeAssistant:
    return FakeAssistant()


@pytest.fixture(scope="session")
def corpus_dir():
    """The project's real library folder."""
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """One `chroma run` on 127.0.0.1 for the whole session (the venv's chromadb)."""
    from tests.servers import chroma_server as start

    with start(tmp_path_factory.mktemp("chroma-server") / "data") as server:
        yield server


@pytest.fixture(params=["embedded", "server"])
def store_settings(request, tmp_path) -> Settings:
    """Settings for each store kind: the same contract tests run against both."""
    if request.param == "embedded":
        return Settings(store_dir=tmp_path / "store")
    server = request.getfixturevalue("chroma_server")
    return Settings(
        store_dir=tmp_path / "store",
        chroma_host=server.host,
        chroma_port=server.port,
        collection_prefix=f"t{uuid.uuid4().hex[:8]}",
    )
