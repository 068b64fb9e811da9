"""Ingest end to end: library -> chunks -> embeddings -> a new build -> publish.

Re-running on an unchanged library is a no-op decided before any model is loaded (a
fingerprint of the chunks, and a check that the live build's vectors are where the settings
say and whole: for an embedded store, first by the `chroma` folder's file sizes recorded at
build time, without importing Chroma; only when they differ is the collection opened). A
changed library reuses the stored vectors of every unchanged chunk and embeds only the new
ones; so does an unchanged library whose vectors moved (embedded to a Chroma server or back)
or were lost or damaged: the build's embeddings.npy is copied into a new build's collection,
no model loaded. Each passage's sentences are embedded with it (sentences.npz) and reused
the same way, and so are the questions each passage answers (ingest.questions:
questions.npz, reused by question text). Nothing a reader sees changes until the finished
build is published (assistant.storage.builds.publish).

The library is the bundled corpus plus the user library (ingest.userlib); ingest.manage
changes the latter through `build_and_publish` with a commit step, so a user's add or
remove is published, or rolled back, together with its index.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.core.errors import IndexMissing, IngestError
from assistant.core.settings import Settings
from assistant.core.text import split_sentences
from assistant.core.types import Chunk
from assistant.embedding.choice import MODEL_IDS, model_id_for
from assistant.embedding.embedder import TEXTS_PER_CALL, Embedder
from assistant.storage.builds import (
    BuildFiles,
    SentenceVectors,
    builds_dir,
    collection_name,
    current_build_id,
    live_build_path,
    new_build_id,
    newest_complete_build,
    prune,
    publish,
    read_build_files,
    read_build_meta,
    reusable_files,
    seal_build,
    unpublish,
    write_build_files,
)
from assistant.storage.private import make_private, private_umask
from assistant.storage.questions import (
    ADAPTER,
    QUESTIONS,
    TRAINING,
    QuestionVectors,
    read_questions,
    write_adapter,
    write_questions,
)
from assistant.storage.vectors import (
    check_server,
    chroma_files,
    location,
    vectors_problem,
    vectors_unchanged,
)
from ingest.adapter import fit_build_adapter
from ingest.catalog import build_catalog
from ingest.chunking import chunk_document
from ingest.formats.limits import Limits
from ingest.libfolder import change_in_flight, check_library_folder, delete_unreferenced
from ingest.library import Library, load_library
from ingest.questions import (
    TRAINING_DIR,
    Keyed,
    embed_questions,
    key_questions,
    model_questions_dir,
    read_question_files,
    stored_vectors,
)
from ingest.userlib import (
    UserDocument,
    UserEntry,
    document_record,
    load_user_documents,
    read_user_manifest,
    stored_file,
    write_user_manifest,
)

# on_progress(fraction done in [0, 1], what is happening): for progress bars in the app.
Progress = Callable[[float, str], None]

FORMAT_VERSION = 1


@dataclass
class IngestReport:
    chunks: int
    embedded: int
    reused: int
    seconds: float
    build_id: str
    changed: bool
    documents: int = 0
    repaired_chars: int = 0
    dropped_lines: int = 0
    # why an unchanged library got a new build (its vectors were not usable, or another
    # embedder made them)
    note: str = ""
    # sentences embedded for the sentence ranking (a repair or an older build's upgrade
    # embeds only these)
    sentences_embedded: int = 0
    # the question index: questions embedded, keyed to passages, and left out because the
    # passage they were written for changed (ingest.questions)
    questions_embedded: int = 0
    questions: int = 0
    questions_stale: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Prepared:
    library: Library
    chunks: list[Chunk]
    documents: dict
    catalog: dict
    fingerprint: str
    user_docs: list[UserDocument] = field(default_factory=list)
    questions: Keyed = field(default_factory=Keyed)
    training: Keyed = field(default_factory=Keyed)  # questions that only train the adapter

    @property
    def adapted(self) -> bool:
        """Whether the build gets a query adapter: it has written questions to learn from."""
        return bool(self.questions.texts or self.training.texts)


def build_chunks(settings: Settings) -> list[Chunk]:
    """Parse and chunk the library without embedding anything."""
    return prepare(settings).chunks


def prepare(settings: Settings, user_entries: list[UserEntry] | None = None) -> Prepared:
    """Read, clean and chunk the bundled corpus and the user library.

    `user_entries` stands in for the user library's manifest: ingest.manage passes the
    library as it will be after an add or remove, before that change is written anywhere.
    """
    library = load_library(settings.corpus_dir)
    library_dir = settings.user_library_dir
    if user_entries is None:
        user_entries = read_user_manifest(library_dir)
    user_docs = load_user_documents(library_dir, user_entries, Limits.from_settings(settings))
    bundled_ids = {info.id for info in library.documents}
    for doc in user_docs:
        if doc.entry.id in bundled_ids:
            raise IngestError(
                f"The added document id {doc.entry.id!r} is also a bundled document's id; "
                f"remove it with `lbw remove {doc.entry.id}` and add the file again."
            )
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for parsed in [*library.parsed, *(d.parsed for d in user_docs)]:
        doc_chunks = chunk_document(parsed)
        for chunk in doc_chunks:
            if chunk.id not in seen:  # an identical passage under identical headings
                seen.add(chunk.id)
                chunks.append(chunk)
    documents = {
        info.id: {
            **asdict(info),
            "authors": list(info.authors),
            "aliases": list(info.aliases),
            "text": parsed.text,
            "repaired_chars": library.repaired_chars.get(info.id, 0),
        }
        for info, parsed in zip(library.documents, library.parsed, strict=True)
    }
    for doc in user_docs:
        documents[doc.entry.id] = document_record(doc)
    catalog = build_catalog(library.parsed, chunks)
    written = read_question_files(Path(settings.corpus_dir) / "questions")
    training = key_questions(
        read_question_files(Path(settings.corpus_dir) / "questions" / TRAINING_DIR), chunks
    )
    # a model's questions for each added document (lbw add), none for a removed one
    written += read_question_files(
        model_questions_dir(settings.store_dir), [d.entry.id for d in user_docs]
    )
    questions = key_questions(written, chunks)
    digest = hashlib.sha256()
    digest.update(f"v{FORMAT_VERSION}".encode())
    for chunk in chunks:
        digest.update(json.dumps(chunk.to_record(), sort_keys=True, ensure_ascii=False).encode())
    digest.update(json.dumps(documents, sort_keys=True, ensure_ascii=False).encode())
    digest.update(json.dumps(catalog, sort_keys=True, ensure_ascii=False).encode())
    if questions.texts:  # an index without questions keeps its fingerprint
        digest.update(questions.digest().encode())
    if questions.texts or training.texts:  # a build before the adapter gets one
        digest.update(f"adapter\x1f{training.digest()}".encode())
    return Prepared(
        library, chunks, documents, catalog, digest.hexdigest(), user_docs, questions, training
    )


@contextmanager
def ingest_lock(store_dir: Path) -> Iterator[None]:
    """One writer at a time; a second ingest fails fast instead of racing the first.

    The writer runs under a private umask (assistant.storage.private): what it writes holds
    users' text, and must not be readable by other local users whatever the umask was."""
    with private_umask():
        try:
            store_dir.mkdir(parents=True, exist_ok=True)
            fh = (store_dir / ".ingest.lock").open("w")
        except OSError as exc:
            raise IngestError(
                f"Cannot write to the index folder {store_dir} ({exc.strerror or exc}); "
                "check LBW_STORE_DIR and its permissions."
            ) from exc
        with _locked(fh, store_dir):
            yield


@contextmanager
def _locked(fh, store_dir: Path) -> Iterator[None]:
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestError(
                f"Another ingest is already writing to {store_dir}; try again when it ends."
            ) from exc
        yield


def _previous(settings: Settings) -> BuildFiles | None:
    """The live build, or failing that what a damaged one still offers for reuse (its
    passages and vectors; with a damaged pointer, the newest sealed build's)."""
    build_id = current_build_id(settings.store_dir)
    path = builds_dir(settings.store_dir) / build_id if build_id else None
    if path is not None:
        with contextlib.suppress(IndexMissing):
            return read_build_files(path)
    for candidate in (path, newest_complete_build(settings.store_dir)):
        if candidate is not None and (found := reusable_files(candidate)) is not None:
            found.path = candidate  # its question index is still worth reading
            return found
    return None


def recover_user_library(settings: Settings) -> None:
    """Bring the user library back in line with the live index after a crash; the caller
    holds ingest_lock.

    First the folder must be lbw's own (ingest.libfolder): a folder lbw did not create, or
    one holding files its manifest never listed, is refused and left untouched. A change is
    committed by its publish: the live build records the user library it was built from. A
    change killed after the publish but before writing the manifest (its journal is still
    there) leaves the manifest one change behind, so it is rolled forward to the record. Files a killed change
    wrote (or was letting go) are in the folder's journal; those no entry references are
    deleted, and nothing else ever is.
    """
    library_dir = Path(settings.user_library_dir)
    recorded = None
    with contextlib.suppress(IndexMissing, OSError, ValueError):  # no live build: no record
        recorded = read_build_meta(live_build_path(settings)).get("user_library")
    live = [UserEntry.from_dict(d) for d in recorded or []]
    entries = check_library_folder(library_dir, also_ours={e.file for e in live})
    # Only a change in flight (its journal is there) is rolled forward: otherwise the manifest
    # is the truth, and a library edited by hand, or another library folder, is never
    # overwritten with what the index recorded.
    if (
        change_in_flight(library_dir)
        and recorded is not None
        and [e.to_dict() for e in entries] != recorded
        and all(stored_file(library_dir, e).is_file() for e in live)
    ):
        write_user_manifest(library_dir, live)
        entries = live
    delete_unreferenced(library_dir, {e.file for e in entries})


def run_ingest(
    settings: Settings,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: bool = True,
    on_progress: Progress | None = None,
) -> IngestReport:
    """Build and publish a new index if the library changed (or `rebuild`); report what was done."""
    with ingest_lock(Path(settings.store_dir)):
        _tell(on_progress, 0.0, "Reading the library")
        recover_user_library(settings)
        prepared = prepare(settings)
        return build_and_publish(
            settings,
            prepared,
            rebuild=rebuild,
            embedder=embedder,
            progress=progress,
            on_progress=on_progress,
        )


def _tell(on_progress: Progress | None, fraction: float, message: str) -> None:
    if on_progress is not None:
        on_progress(min(max(fraction, 0.0), 1.0), message)


def build_and_publish(
    settings: Settings,
    prepared: Prepared,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: bool = True,
    on_progress: Progress | None = None,
    commit: Callable[[], None] | None = None,
) -> IngestReport:
    """Embed what is new, write a sealed build, publish it; the caller holds ingest_lock.

    `commit` runs right after the publish (ingest.manage writes the user library manifest
    there); if it fails, the previous build is published again and the new one deleted, so
    the index and the library never disagree.
    """
    started = time.perf_counter()
    check_server(settings)  # a server that does not answer: exit 3 now, not after embedding
    store_dir = Path(settings.store_dir)
    lib = prepared.library
    common = {
        "documents": len(prepared.documents),
        "repaired_chars": sum(lib.repaired_chars.values()),
        "dropped_lines": sum(lib.dropped_lines.values()),
    }
    previous = None if rebuild else _previous(settings)
    note = ""
    # Another embedder than the settings' made the live build (LBW_EMBEDDER changed): its
    # vectors are neither reused nor mixed with new ones; everything is embedded again. A
    # build by a model lbw does not name (a test's fake embedder) is left to its maker.
    wanted = embedder.model_id if embedder is not None else model_id_for(settings)
    built_by = previous.meta.get("model_id") if previous else None
    model_changed = bool(previous) and built_by != wanted and built_by in MODEL_IDS.values()
    if model_changed:
        note = f"The index was built by {built_by}, and LBW_EMBEDDER={settings.embedder} asks for {wanted}"
    elif previous and previous.meta.get("fingerprint") == prepared.fingerprint:
        live = builds_dir(store_dir) / previous.meta["build_id"]
        if not vectors_unchanged(settings, live, previous.meta):  # a glance, then a look
            note = vectors_problem(settings, live, previous.meta) or ""
    if (
        previous
        and previous.meta.get("fingerprint") == prepared.fingerprint
        and not note
        and previous.sentences is not None  # a build from before sentence vectors gets them
        and (_has_questions(previous) or not prepared.questions.texts)
        and (_has(previous, ADAPTER) or not prepared.adapted)
    ):
        if commit is not None:
            commit()
        _tell(on_progress, 1.0, "The index is up to date")
        return IngestReport(
            len(prepared.chunks),
            0,
            len(prepared.chunks),
            time.perf_counter() - started,
            previous.meta["build_id"],
            False,
            **common,
        )
    # By passage id: every passage of the previous build, when it has sentence vectors.
    old_sentences = _stored_sentences(previous)
    old_questions = stored_vectors(_previous_questions(previous)) | stored_vectors(
        _previous_questions(previous, TRAINING)
    )
    if (
        embedder is None
        and previous is not None
        and not model_changed
        and all(c.id in old_sentences for c in prepared.chunks)
        and all(t in old_questions for t in prepared.questions.texts)
        and all(t in old_questions for t in prepared.training.texts)
    ):
        # Nothing new to embed (a removal, a changed date or kind): no model to load.
        model_id = previous.meta.get("model_id")
    else:
        if embedder is None:
            _tell(on_progress, 0.05, "Loading the embedding model")
            from assistant.embedding.choice import load_embedder

            embedder = load_embedder(settings)
        model_id = embedder.model_id
    reuse: dict[str, np.ndarray] = {}
    if previous is not None and previous.meta.get("model_id") == model_id:
        reuse = {c.id: previous.embeddings[i] for i, c in enumerate(previous.chunks)}
    else:  # another model's vectors: none of them is reused
        old_sentences = {}
        old_questions = {}
    vectors = _embed(prepared.chunks, embedder, reuse, progress, on_progress)
    sentences, new_sentences = _embed_sentences(prepared.chunks, embedder, old_sentences, progress)
    _tell(on_progress, 0.9, "Embedding the questions passages answer")
    dim = vectors.shape[1] if len(vectors) else 384
    (questions, training), new_questions = embed_questions(
        [prepared.questions, prepared.training], embedder, old_questions, dim
    )
    adapter = None
    if prepared.adapted:
        _tell(on_progress, 0.91, "Fitting the query adapter to the written questions")
        adapter = fit_build_adapter(prepared.chunks, vectors, [questions, training])
    build_id = new_build_id()
    path = builds_dir(store_dir) / build_id
    _tell(on_progress, 0.92, "Writing the new index")
    try:
        write_build_files(
            path,
            BuildFiles(
                prepared.chunks,
                vectors,
                prepared.documents,
                prepared.catalog,
                sentences=sentences,
            ),
        )
        write_questions(path, questions)
        if training.texts:
            write_questions(path, training, TRAINING)
        if adapter is not None:
            write_adapter(path, adapter)
        _write_vectors(settings, path, build_id, prepared.chunks, vectors)
        make_private(builds_dir(store_dir))  # whatever created the files (Chroma included)
        seal_build(
            path,
            {
                "build_id": build_id,
                "fingerprint": prepared.fingerprint,
                "model_id": model_id,
                "chunks": len(prepared.chunks),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "format": FORMAT_VERSION,
                "collection": collection_name(settings, build_id),
                "vectors": location(settings),  # where `collection` lives
                # Embedded: the `chroma` folder's files and sizes, for vectors_unchanged.
                "chroma_files": None if settings.server_mode else chroma_files(path / "chroma"),
                # The user library this build serves: after a crash between the publish
                # and the manifest write, recover_user_library rolls the manifest forward.
                "user_library": [d.entry.to_dict() for d in prepared.user_docs],
            },
        )
        before = current_build_id(store_dir)
        publish(store_dir, build_id)
        if commit is not None:
            try:
                commit()
            except BaseException:
                if before:
                    publish(store_dir, before)
                else:
                    unpublish(store_dir)
                raise
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    prune(store_dir, settings)
    embedded = sum(1 for c in prepared.chunks if c.id not in reuse)
    _tell(
        on_progress,
        1.0,
        f"Published: {embedded} passages, {new_sentences} sentences and {new_questions} "
        "questions embedded",
    )
    return IngestReport(
        len(prepared.chunks),
        embedded,
        len(prepared.chunks) - embedded,
        time.perf_counter() - started,
        build_id,
        True,
        **common,
        note=note,
        sentences_embedded=new_sentences,
        questions_embedded=new_questions,
        questions=len(questions.texts),
        questions_stale=sum(prepared.questions.stale.values()),
    )


def _embed(
    chunks: list[Chunk],
    embedder: Embedder | None,
    reuse: dict[str, np.ndarray],
    progress: bool,
    on_progress: Progress | None = None,
) -> np.ndarray:
    texts = [c.indexed_text() for c in chunks]
    # Longest first, as sentence-transformers orders one call's texts before batching them:
    # each batch then holds passages of about one length and little padding. In library
    # order a batch pads every passage to its longest (about a sixth more tokens here, and a
    # third more attention work), which made ingest slower than encoding the same passages.
    todo = sorted(
        (i for i, c in enumerate(chunks) if c.id not in reuse), key=lambda i: -len(texts[i])
    )
    out: list[np.ndarray | None] = [reuse.get(c.id) for c in chunks]
    if todo:
        from tqdm import tqdm

        assert embedder is not None  # build_and_publish loads one whenever there is work
        batch = TEXTS_PER_CALL
        with tqdm(
            total=len(todo), desc="Embedding passages", unit="chunk", disable=not progress
        ) as bar:
            for start in range(0, len(todo), batch):
                _tell(
                    on_progress,
                    0.1 + 0.8 * start / len(todo),
                    f"Embedding passages: {start} of {len(todo)}",
                )
                idx = todo[start : start + batch]
                vecs = embedder.embed_batch([texts[i] for i in idx])
                for i, v in zip(idx, vecs, strict=True):
                    out[i] = v
                bar.update(len(idx))
    if not chunks:
        return np.zeros((0, 384), dtype=np.float32)
    return np.vstack(out).astype(np.float32)


def _previous_questions(
    previous: BuildFiles | None, name: str = QUESTIONS
) -> QuestionVectors | None:
    """The previous build's question index, or its training questions (None: none, or a
    build it cannot be read from)."""
    if previous is None or previous.path is None:
        return None
    try:
        return read_questions(previous.path, len(previous.chunks), name)
    except IndexMissing:
        return None


def _has_questions(previous: BuildFiles) -> bool:
    return _has(previous, QUESTIONS)


def _has(previous: BuildFiles, name: str) -> bool:
    return previous.path is not None and (previous.path / name).is_file()


def _stored_sentences(previous: BuildFiles | None) -> dict[str, tuple[list[str], np.ndarray]]:
    """The previous build's sentences and vectors by passage id (none when it has none)."""
    if previous is None or previous.sentences is None:
        return {}
    return {c.id: previous.sentences.of(i) for i, c in enumerate(previous.chunks)}


def _embed_sentences(
    chunks: list[Chunk],
    embedder: Embedder | None,
    reuse: dict[str, tuple[list[str], np.ndarray]],
    progress: bool,
) -> tuple[SentenceVectors, int]:
    """Every passage's sentences with their vectors, reusing an unchanged passage's (a
    passage id names its text, so the same id has the same sentences); and how many distinct
    sentences were embedded."""
    owners: list[int] = []
    texts: list[str] = []
    rows: list[np.ndarray | None] = []
    todo: list[int] = []
    for row, chunk in enumerate(chunks):
        found = split_sentences(chunk.text)
        old = reuse.get(chunk.id)
        same = old is not None and old[0] == found
        for i, sentence in enumerate(found):
            owners.append(row)
            texts.append(sentence)
            rows.append(old[1][i] if same else None)
            if not same:
                todo.append(len(rows) - 1)
    # A sentence that recurs (a quotation repeated under another heading, a caption) is
    # embedded once: its vector is the same wherever it stands.
    distinct = sorted(dict.fromkeys(texts[i] for i in todo), key=len, reverse=True)
    if distinct:
        from tqdm import tqdm

        assert embedder is not None  # build_and_publish loads one whenever there is work
        found: dict[str, np.ndarray] = {}
        batch = TEXTS_PER_CALL  # longest first, as _embed: like lengths pad least
        with tqdm(
            total=len(distinct), desc="Embedding sentences", unit="sentence", disable=not progress
        ) as bar:
            for start in range(0, len(distinct), batch):
                part = distinct[start : start + batch]
                found.update(zip(part, embedder.embed_batch(part), strict=True))
                bar.update(len(part))
        for i in todo:
            rows[i] = found[texts[i]]
    dim = len(rows[0]) if rows else 0
    vectors = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)
    return SentenceVectors(np.array(owners, dtype=np.int32), texts, vectors), len(distinct)


def _write_vectors(
    settings: Settings, path: Path, build_id: str, chunks: list[Chunk], vectors: np.ndarray
) -> None:
    from assistant.storage.vectors import (
        SERVER_FIX,
        ChromaStore,
        chroma_client,
        describe,
        timed_out,
        unreachable,
    )

    where = describe(location(settings))
    try:
        client = chroma_client(settings, path / "chroma")
        store = ChromaStore(client, collection_name(settings, build_id), create=True)
        store.add([c.id for c in chunks], vectors, [c.metadata() for c in chunks])
    except Exception as exc:  # a server that is down or refuses; a full disk
        if timed_out(exc):  # a server that stopped answering: what to check, exit 3
            raise IndexMissing(
                f"{unreachable(settings, exc)}; nothing was published. {SERVER_FIX}"
            ) from exc
        raise IngestError(
            f"Could not write the vectors to {where} ({type(exc).__name__}: "
            f"{str(exc)[:200]}); nothing was published."
        ) from exc
