"""The published index: one immutable build folder, and a pointer naming the live build.

    store_dir/CURRENT                 the id of the live build (replaced atomically)
    store_dir/builds/<id>/meta.json   written last; a build without it is incomplete
    store_dir/builds/<id>/chunks.jsonl, documents.json, catalog.json, embeddings.npy
    store_dir/builds/<id>/sentences.npz  each passage's sentences and their vectors
    store_dir/builds/<id>/chroma/     the vectors (embedded Chroma), or a server collection

A writer fills a new build folder, then swaps CURRENT with os.replace; a crash at any point
leaves CURRENT naming the previous, complete build. Readers notice a new CURRENT and reopen.

Damage from outside (a pointer with stray bytes, a truncated file) is reported as
IndexMissing naming the file and saying to run `lbw ingest`, which writes a new build and
reuses whatever whole vectors the damaged one still holds (`reusable_files`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.errors import IndexMissing
from assistant.core.settings import Settings
from assistant.core.types import Chunk

POINTER = "CURRENT"
KEEP_BUILDS = 2
# What new_build_id makes (and any plain folder name): a pointer naming anything else, such
# as "../elsewhere", is damage, never a path to follow.
_BUILD_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}")


def builds_dir(store_dir: Path) -> Path:
    return Path(store_dir) / "builds"


_last_build_ns = 0
_build_id_lock = threading.Lock()


def new_build_id() -> str:
    """A unique id that sorts in creation order, which `prune` relies on to keep the newest.

    Microseconds keep two builds made in the same second in order (whole seconds and a random
    suffix once pruned the newer of them); an id from before this change, with no microseconds,
    still sorts before any later one of the same second.
    """
    global _last_build_ns
    with _build_id_lock:
        now = max(time.time_ns(), _last_build_ns + 1000)
        _last_build_ns = now
    seconds, micros = divmod(now // 1000, 1_000_000)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(seconds))
    return f"{stamp}{micros:06d}-{uuid.uuid4().hex[:8]}"


def collection_name(settings: Settings, build_id: str) -> str:
    return f"{settings.collection_prefix}_{build_id}".replace("T", "t")


def current_build_id(store_dir: Path) -> str | None:
    """The live build's id; None when there is none, or when the pointer cannot be read or
    does not hold a build id. A damaged pointer so reads as a missing one: ingest writes a
    new one (also with --rebuild), and readers say what to run (`live_build_path`)."""
    try:
        value = (Path(store_dir) / POINTER).read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value if _BUILD_ID.fullmatch(value) else None


def write_text_atomic(path: Path, data: str) -> None:
    """Replace `path` with `data` in one step: readers see the old file or the new, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def unpublish(store_dir: Path) -> None:
    """Remove the live pointer (undoes the first ever publish)."""
    (Path(store_dir) / POINTER).unlink(missing_ok=True)


def publish(store_dir: Path, build_id: str) -> None:
    """Make `build_id` the live build. The only step a reader can observe."""
    write_text_atomic(Path(store_dir) / POINTER, build_id + "\n")


def prune(store_dir: Path, settings: Settings | None = None) -> None:
    """Delete incomplete builds and all but the newest KEEP_BUILDS complete ones."""
    root = builds_dir(store_dir)
    if not root.is_dir():
        return
    live = current_build_id(store_dir)
    complete = sorted(p for p in root.iterdir() if (p / "meta.json").is_file())
    keep = {p.name for p in complete[-KEEP_BUILDS:]} | {live}
    for path in root.iterdir():
        if path.name in keep:
            continue
        if settings is not None and settings.server_mode and _vectors_here(settings, path):
            _drop_server_collection(settings, path.name)
        shutil.rmtree(path, ignore_errors=True)


def _vectors_here(settings: Settings, path: Path) -> bool:
    """Whether a build's vectors may be on the configured server (a build made embedded, or on
    another server, has no collection there to drop)."""
    from assistant.storage.vectors import location, recorded_location

    try:
        meta = read_build_meta(path)
    except IndexMissing:
        return True  # unsealed or damaged: its collection may be there
    there = recorded_location(path, meta)
    return there is None or there == location(settings)


def _drop_server_collection(settings: Settings, build_id: str) -> None:
    from assistant.storage.vectors import chroma_client

    # A missing collection is what we want anyway.
    with contextlib.suppress(Exception):
        chroma_client(settings).delete_collection(collection_name(settings, build_id))


SENTENCES = "sentences.npz"


@dataclass
class SentenceVectors:
    """Every passage's sentences (core.text.split_sentences of its text) with their unit
    vectors, embedded at ingest: the retriever matches a question against single sentences,
    and the scope step and the composer compare sentences, without embedding them per answer.

    Row i of `vectors` is `texts[i]`, a sentence of the passage at row `owners[i]` of the
    build's chunks; owners never decrease.
    """

    owners: np.ndarray  # int32, one per sentence
    texts: list[str]
    vectors: np.ndarray  # float32, (sentences, dim)

    def of(self, row: int) -> tuple[list[str], np.ndarray]:
        """The sentences of the passage at `row` and their vectors."""
        lo, hi = np.searchsorted(self.owners, [row, row + 1])
        return self.texts[lo:hi], self.vectors[lo:hi]

    def best_per_passage(self, query: np.ndarray, passages: int) -> np.ndarray:
        """For each passage row, the cosine of its closest sentence to a unit query vector
        (-1 for a passage without sentences)."""
        best = np.full(passages, -1.0, dtype=np.float32)
        if len(self.texts):
            rows, starts = self._segments
            best[rows] = np.maximum.reduceat(self.vectors @ query.astype(np.float32), starts)
        return best

    @cached_property
    def _segments(self) -> tuple[np.ndarray, np.ndarray]:
        """The passage rows that have sentences, and where each one's run of rows starts."""
        return np.unique(self.owners, return_index=True)


@dataclass
class BuildFiles:
    """Everything a build holds besides its vectors."""

    chunks: list[Chunk]
    embeddings: np.ndarray
    documents: dict[str, dict[str, Any]]
    catalog: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the build folder these files were read from
    # None: a build from before sentence vectors (`lbw ingest` adds them)
    sentences: SentenceVectors | None = None

    @property
    def by_id(self) -> dict[str, Chunk]:
        return {c.id: c for c in self.chunks}


def write_build_files(path: Path, files: BuildFiles) -> None:
    path.mkdir(parents=True, exist_ok=True)
    with (path / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for chunk in files.chunks:
            fh.write(json.dumps(chunk.to_record(), ensure_ascii=False) + "\n")
    np.save(path / "embeddings.npy", files.embeddings.astype(np.float32))
    (path / "documents.json").write_text(
        json.dumps(files.documents, ensure_ascii=False), encoding="utf-8"
    )
    (path / "catalog.json").write_text(
        json.dumps(files.catalog, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    if files.sentences is not None:
        s = files.sentences
        np.savez(
            path / SENTENCES,
            owners=s.owners.astype(np.int32),
            texts=np.array(s.texts, dtype=str),
            vectors=s.vectors.astype(np.float32),
        )


def seal_build(path: Path, meta: dict[str, Any]) -> None:
    """Write meta.json last: its presence marks the build complete."""
    write_text_atomic(path / "meta.json", json.dumps(meta, indent=1))


def _damaged(path: Path, name: str, exc: BaseException) -> IndexMissing:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return IndexMissing(
        f"The index build {path.name} is damaged ({name}: {reason[:200]}); "
        "run `lbw ingest` to write a new one."
    )


def read_build_json(path: Path, name: str) -> Any:
    """One JSON file of a sealed build; IndexMissing naming it when it is unreadable."""
    try:
        return json.loads((path / name).read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # JSON and UTF-8 errors are ValueErrors
        raise _damaged(path, name, exc) from exc


def read_build_meta(path: Path) -> dict[str, Any]:
    """A sealed build's meta.json alone (cheap: no passages, no vectors)."""
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise IndexMissing(f"The index build at {path} is incomplete; run `lbw ingest --rebuild`.")
    meta = read_build_json(path, "meta.json")
    if not isinstance(meta, dict) or not isinstance(meta.get("collection"), str):
        raise _damaged(path, "meta.json", ValueError("not a build record"))
    return meta


def _read_chunks(path: Path) -> list[Chunk]:
    try:
        with (path / "chunks.jsonl").open("rb") as fh:
            return [Chunk.from_record(json.loads(line)) for line in fh if line.strip()]
    except (OSError, ValueError, TypeError, RecursionError) as exc:
        raise _damaged(path, "chunks.jsonl", exc) from exc


def _read_embeddings(path: Path, rows: int) -> np.ndarray:
    try:
        vectors = np.load(path / "embeddings.npy", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _damaged(path, "embeddings.npy", exc) from exc
    if vectors.ndim != 2 or len(vectors) != rows:
        raise _damaged(path, "embeddings.npy", ValueError(f"{vectors.shape} for {rows} passages"))
    return vectors


def read_sentences(path: Path, rows: int) -> SentenceVectors | None:
    """A build's sentence vectors; None when it has none (made before them), IndexMissing
    when the file is damaged or does not fit the build's passages."""
    if not (path / SENTENCES).is_file():
        return None
    try:
        with np.load(path / SENTENCES, allow_pickle=False) as data:
            owners = data["owners"].astype(np.int32)
            texts = [str(t) for t in data["texts"]]
            vectors = data["vectors"].astype(np.float32)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise _damaged(path, SENTENCES, exc) from exc
    fits = (
        owners.ndim == 1
        and vectors.ndim == 2
        and len(owners) == len(texts) == len(vectors)
        and (not len(owners) or (owners.min() >= 0 and owners.max() < rows))
        and bool(np.all(np.diff(owners) >= 0))
    )
    if not fits:
        raise _damaged(path, SENTENCES, ValueError(f"{vectors.shape} does not fit the passages"))
    return SentenceVectors(owners, texts, vectors)


def read_build_files(path: Path, with_embeddings: bool = True) -> BuildFiles:
    """A sealed build, whole; IndexMissing naming the first damaged file."""
    meta = read_build_meta(path)
    chunks = _read_chunks(path)
    embeddings = (
        _read_embeddings(path, len(chunks)) if with_embeddings else np.zeros((0, 0), np.float32)
    )
    documents = read_build_json(path, "documents.json")
    catalog = read_build_json(path, "catalog.json")
    if not isinstance(documents, dict) or not isinstance(catalog, dict):
        raise _damaged(path, "documents.json or catalog.json", ValueError("not an object"))
    sentences = read_sentences(path, len(chunks))
    return BuildFiles(chunks, embeddings, documents, catalog, meta, path, sentences)


def reusable_files(path: Path) -> BuildFiles | None:
    """What a damaged build still offers the next one: its passages and their vectors, when
    both are whole and its meta names the model that made them. No fingerprint, documents or
    catalog, so it never passes for an up-to-date index. None when nothing is reusable."""
    try:
        meta = read_build_meta(path)
        chunks = _read_chunks(path)
        embeddings = _read_embeddings(path, len(chunks))
    except IndexMissing:
        return None
    if not meta.get("model_id"):
        return None
    try:
        sentences = read_sentences(path, len(chunks))
    except IndexMissing:
        sentences = None  # the passage vectors are still good
    return BuildFiles(chunks, embeddings, {}, {}, {"model_id": meta["model_id"]}, None, sentences)


def newest_complete_build(store_dir: Path) -> Path | None:
    """The newest sealed build folder, whatever CURRENT says (for reuse after damage)."""
    root = builds_dir(store_dir)
    if not root.is_dir():
        return None
    complete = sorted(p for p in root.iterdir() if (p / "meta.json").is_file())
    return complete[-1] if complete else None


def live_build_path(settings: Settings) -> Path:
    build_id = current_build_id(settings.store_dir)
    pointer = Path(settings.store_dir) / POINTER
    if build_id is None and pointer.exists():
        raise IndexMissing(
            f"The index pointer {pointer} is damaged or unreadable; run `lbw ingest` to "
            "write a new one."
        )
    if build_id is None:
        raise IndexMissing(
            f"No index found in {settings.store_dir}. Build it with `lbw ingest` "
            "(or `make run`, which builds it on first start)."
        )
    path = builds_dir(settings.store_dir) / build_id
    if not (path / "meta.json").is_file():
        raise IndexMissing(
            f"The live index build {build_id} is missing or incomplete; run `lbw ingest --rebuild`."
        )
    return path


def open_live(settings: Settings, with_embeddings: bool = False) -> BuildFiles:
    """The live build's files: the one way every reader (the assistant, the CLI's framework
    commands, the library listing) opens the published index. IndexMissing when none is."""
    return read_build_files(live_build_path(settings), with_embeddings)
