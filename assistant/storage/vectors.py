"""Vector stores: one small interface, Chroma inside.

A build of the index writes its vectors into a fresh collection; readers only ever open a
build that was completely written (see assistant.storage.builds), so a store never has to support
"half an index".

A build records where its vectors live (`location`: embedded in the build's `chroma`
folder, or a server's host and port) next to its collection name. Opening a build checks
that record against the settings and the collection against the build (it exists, it holds
every passage), so moving to a server and back, or a deleted or damaged `chroma` folder,
is reported as IndexMissing with what to run, and `lbw ingest` knows to copy the build's
stored vectors into the new place (`vectors_problem`). An embedded build also records its
`chroma` folder's files and sizes, so an unchanged re-ingest can see the folder is as it was
sealed without importing Chroma (`vectors_unchanged`); any difference sends it to the full
check. A read-only store is served from a
private copy of its `chroma` folder, because Chroma writes to its database when it opens it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.errors import IndexMissing
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
    """Embedded client on `path`, or an HTTP client when a Chroma server is configured (every
    request bounded by LBW_CHROMA_TIMEOUT: assistant.storage.chroma_http)."""
    import chromadb

    if settings.server_mode:
        from assistant.storage.chroma_http import timed_client

        headers = (
            {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
        )
        return timed_client(
            settings.chroma_host,
            settings.chroma_port,
            headers,
            settings.chroma_timeout,
            _chroma_settings(),
        )
    if path is None:
        raise ValueError("an embedded Chroma store needs a folder")
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


# Collections up to this many vectors are searched exhaustively (a few ms at this size).
EXACT_UP_TO = 5000


class ChromaStore(VectorStore):
    """A Chroma collection with cosine distance; we pass our own vectors (no Chroma embedder)."""

    def __init__(self, client, name: str, create: bool = False, where: str = "Chroma"):
        self.client = client
        self.name = name
        self.where = where  # for messages: "the embedded store", "the Chroma server at ..."
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
        try:
            res = self.collection.query(
                query_embeddings=np.asarray([vector], dtype=np.float32),
                n_results=count if count <= EXACT_UP_TO else k,
                include=["distances"],
            )
        except Exception as exc:  # a server that stopped, a database damaged since opening
            waited = " (no answer within LBW_CHROMA_TIMEOUT)" if timed_out(exc) else ""
            raise IndexMissing(
                f"The vector store ({self.where}) failed{waited}: {type(exc).__name__}: "
                f"{str(exc)[:200]}. Check that it is running and not stopped, or run "
                "`lbw ingest` to repair the index."
            ) from exc
        found = sorted(zip(res["distances"][0], res["ids"][0], strict=True))[:k]
        return [(i, 1.0 - float(d)) for d, i in found]

    def count(self) -> int:
        if not hasattr(self, "_count"):
            self._count = self.collection.count()
        return self._count

    def delete_collection(self) -> None:
        self.client.delete_collection(self.name)


def location(settings: Settings) -> dict[str, Any]:
    """Where these settings put a build's vectors, as recorded in its meta.json."""
    if settings.server_mode:
        return {"kind": "server", "host": settings.chroma_host, "port": settings.chroma_port}
    return {"kind": "embedded"}


def recorded_location(path: Path, meta: dict[str, Any]) -> dict[str, Any] | None:
    """Where a build's vectors live, by its meta.json; for a build from before the record,
    embedded when it has a `chroma` folder, else a server (None: which one is unknown)."""
    found = meta.get("vectors")
    if isinstance(found, dict):
        return found
    return {"kind": "embedded"} if (path / "chroma").is_dir() else None


def describe(where: dict[str, Any] | None) -> str:
    if where is None:
        return "a Chroma server"
    if where.get("kind") == "server":
        return f"the Chroma server at {where.get('host')}:{where.get('port')}"
    return "the embedded store"


REPAIR = "Run `lbw ingest`: it puts the index's stored vectors there (no --rebuild needed)."
SERVER_FIX = (
    "Check that the server is running and not stopped or paused, that LBW_CHROMA_HOST and "
    "LBW_CHROMA_PORT name it, and that nothing between holds the connection; a slow server "
    "may need a larger LBW_CHROMA_TIMEOUT."
)


def timed_out(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is a request that got no answer in time."""
    while exc is not None:
        if isinstance(exc, TimeoutError) or type(exc).__name__.endswith("Timeout"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def unreachable(settings: Settings, exc: BaseException) -> str:
    """What went wrong talking to the configured server, in a user's words."""
    where = _capital(describe(location(settings)))
    if timed_out(exc):
        return f"{where} did not answer within {settings.chroma_timeout:g} s (LBW_CHROMA_TIMEOUT)"
    return f"{where} cannot be reached ({type(exc).__name__}: {str(exc)[:200]})"


def check_server(settings: Settings) -> None:
    """IndexMissing (exit 3, what to check) unless the configured Chroma server answers a
    heartbeat in time; nothing to do for the embedded store."""
    if not settings.server_mode:
        return
    try:
        chroma_client(settings).heartbeat()
    except Exception as exc:  # noqa: BLE001 - refused, timed out, not a Chroma server
        raise IndexMissing(f"{unreachable(settings, exc)}. {SERVER_FIX}") from exc


def chroma_files(folder: Path) -> dict[str, int]:
    """Every file under an embedded store's `chroma` folder, by its path relative to the
    folder, with its size in bytes ({} when there is no folder). Chroma rewrites bytes inside
    its files whenever it opens them, but (chromadb 1.5) keeps their names and sizes; were a
    version to change them, `vectors_unchanged` would only send ingest to the full check."""
    found: dict[str, int] = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            file = Path(root) / name
            try:
                found[file.relative_to(folder).as_posix()] = file.stat().st_size
            except OSError:  # gone between the listing and the look: not as recorded
                found[file.relative_to(folder).as_posix()] = -1
    return found


def vectors_unchanged(settings: Settings, path: Path, meta: dict[str, Any]) -> bool:
    """Whether, at a glance and without importing Chroma, the build at `path` still holds its
    vectors as it was sealed: these settings use the embedded store the build recorded, and
    its `chroma` folder has the same files with the same sizes (`chroma_files` in meta.json).

    True lets an unchanged re-ingest skip opening the collection (a second or more, most of it
    importing chromadb). False means only "look properly": `vectors_problem` then opens it. A
    deleted, truncated or extended file, or a move to a server, changes what is seen here;
    bytes overwritten in place with the sizes kept are left to the readers, which report a
    collection they cannot open with what to run."""
    recorded = meta.get("chroma_files")
    if settings.server_mode or not isinstance(recorded, dict) or not recorded:
        return False
    if recorded_location(path, meta) != location(settings):
        return False
    return chroma_files(path / "chroma") == recorded


def open_build_store(settings: Settings, path: Path, meta: dict[str, Any]) -> ChromaStore:
    """The vectors of the sealed build at `path`, checked; IndexMissing saying what to do
    when they are somewhere else, missing, incomplete or unreadable, or the server is down."""
    store, problem, fix = _open_checked(settings, path, meta)
    if store is None:
        raise IndexMissing(f"{problem}. {fix}")
    return store


def vectors_problem(settings: Settings, path: Path, meta: dict[str, Any]) -> str | None:
    """Why the build at `path` cannot serve these settings' vectors (None when it can)."""
    return _open_checked(settings, path, meta)[1] or None


def _open_checked(
    settings: Settings, path: Path, meta: dict[str, Any]
) -> tuple[ChromaStore | None, str, str]:
    """(the opened store, "", ""), or (None, what is wrong, what to do about it)."""
    here, there = location(settings), recorded_location(path, meta)
    if there is not None and there != here:
        return (
            None,
            f"The index's vectors are in {describe(there)}, but the settings use {describe(here)}",
            REPAIR,
        )
    if settings.server_mode:
        try:
            client = chroma_client(settings)
            client.heartbeat()
        except Exception as exc:  # noqa: BLE001 - refused, timed out, not a Chroma server
            return None, unreachable(settings, exc), SERVER_FIX
    else:
        folder = path / "chroma"
        if not (folder / "chroma.sqlite3").is_file():  # opening would create an empty one
            return None, f"The index's vectors are missing: {folder} holds no database", REPAIR
    try:
        if not settings.server_mode:
            client = chroma_client(settings, _writable(folder))
        store = ChromaStore(client, meta["collection"], where=describe(here))
        count = store.count()
    except Exception as exc:  # noqa: BLE001 - any failure to open is the answer asked for
        return (
            None,
            f"The index's vectors in {describe(here)} cannot be used "
            f"({type(exc).__name__}: {str(exc)[:200]})",
            REPAIR,
        )
    if count != meta.get("chunks", count):
        return (
            None,
            f"The index's vectors in {describe(here)} are incomplete "
            f"({count} of {meta['chunks']} passages)",
            REPAIR,
        )
    return store, "", ""


def _writable(folder: Path) -> Path:
    """`folder`, or a private temporary copy when it (or its database) cannot be written:
    Chroma writes to the database whenever it opens it, so a read-only store would fail."""
    database = folder / "chroma.sqlite3"
    if os.access(folder, os.W_OK) and os.access(database, os.W_OK):
        return folder
    copy = Path(tempfile.mkdtemp(prefix="lbw-readonly-")) / "chroma"
    atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
    # Contents only: the copy takes the user's own permissions, not the store's read-only ones.
    shutil.copytree(folder, copy, copy_function=shutil.copyfile)
    for sub, _dirs, _files in os.walk(copy):
        os.chmod(sub, 0o700)
    return copy


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
