"""Vector stores: one small interface, Chroma inside.

A build of the index writes its vectors into a fresh collection; readers only ever open a
build that was completely written (see assistant.storage.builds), so a store never has to support
"half an index".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.core.settings import Settings


class VectorStore(ABC):
    """Nearest-neighbour search over unit vectors, returning (chunk id, cosine similarity)."""

    @abstractmethod
    def add(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None: ...

    @abstractmethod
    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...

    @abstractmethod
    def count(self) -> int: ...


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def chroma_client(settings: Settings, path: Path | None = None):
    """Embedded client on `path`, or an HTTP client when a Chroma server is configured."""
    import chromadb

    if settings.server_mode:
        headers = (
            {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
        )
        return chromadb.HttpClient(
            host=settings.chroma_host,
            port=settings.chroma_port,
            headers=headers,
            settings=_chroma_settings(),
        )
    if path is None:
        raise ValueError("an embedded Chroma store needs a folder")
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


# Collections up to this many vectors are searched exhaustively (a few ms at this size).
EXACT_UP_TO = 5000


class ChromaStore(VectorStore):
    """A Chroma collection with cosine distance; we pass our own vectors (no Chroma embedder)."""

    def __init__(self, client, name: str, create: bool = False):
        self.client = client
        self.name = name
        if create:
            self.collection = client.create_collection(
                name, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
        else:
            self.collection = client.get_collection(name, embedding_function=None)

    def add(self, ids, vectors, metadatas) -> None:
        self.__dict__.pop("_count", None)
        step = 256
        for i in range(0, len(ids), step):
            self.collection.add(
                ids=list(ids[i : i + step]),
                embeddings=np.asarray(vectors[i : i + step], dtype=np.float32),
                metadatas=list(metadatas[i : i + step]),
            )

    def query(self, vector, k) -> list[tuple[str, float]]:
        """The k nearest passages, best first, ties by id. Up to EXACT_UP_TO vectors the whole
        collection is asked for, which makes HNSW's approximate search exact: without it the
        same question could come back with different passages from one process to the next."""
        count = self.count()
        k = min(k, count)
        if k <= 0:
            return []
        res = self.collection.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=count if count <= EXACT_UP_TO else k,
            include=["distances"],
        )
        found = sorted(zip(res["distances"][0], res["ids"][0], strict=True))[:k]
        return [(i, 1.0 - float(d)) for d, i in found]

    def count(self) -> int:
        if not hasattr(self, "_count"):
            self._count = self.collection.count()
        return self._count

    def delete_collection(self) -> None:
        self.client.delete_collection(self.name)
