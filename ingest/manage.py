"""Changing the user library (add, remove, edit) always together with the index.

Each change is one transaction:

1. Everything a user hands in is checked and read first: the file name (a label, never a
   path), the size limit, the format, the text, duplicates. A bad file is refused before
   anything is written.
2. Under the ingest lock, new files are copied in under generated names (never over an
   existing file), and the library as it will be is ingested: only new passages are
   embedded, into a new sealed build, which is published.
3. Only then is the user manifest written. If any step fails, the files written are
   deleted, the new build is removed and the previous build stays (or is made again) the
   live one: same documents, same chunks, same answers. A process killed outright
   (SIGKILL, power loss) gets no chance to clean up; the next change or ingest calls
   `recover_user_library` first, which rolls the manifest forward to what the live build
   serves and deletes files no one references.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.errors import InvalidDocument
from assistant.core.settings import Settings
from assistant.core.types import DocumentInfo
from assistant.embedding.embedder import Embedder
from assistant.storage.builds import open_live
from ingest.chunking import chunk_document
from ingest.formats import SAVE_AS, ReadResult, read_document
from ingest.formats.limits import Budget, Limits
from ingest.libfolder import claim_library_folder, clear_pending, write_pending, write_private
from ingest.library import read_manifest
from ingest.pipeline import (
    IngestReport,
    Prepared,
    Progress,
    build_and_publish,
    ingest_lock,
    prepare,
    recover_user_library,
)
from ingest.userlib import (
    UserEntry,
    check_file_name,
    forget_reading,
    new_doc_id,
    read_user_manifest,
    save_reading,
    sha256_bytes,
    stored_file,
    text_digest,
    title_from_name,
    to_parsed,
    write_user_manifest,
)

MAX_TITLE = 300


@dataclass
class Source:
    """A file handed in: its name (a label only) and its bytes."""

    name: str
    data: bytes


@dataclass
class Candidate:
    """A source that passed every check and was read, not yet in the library."""

    name: str
    data: bytes
    result: ReadResult
    sha256: str
    text_sha256: str
    title: str
    withheld: list[str] = field(default_factory=list)  # lines that direct the assistant
    passages: int = 0  # the passages it makes (each is embedded)

    def notes(self) -> list[str]:
        """What the reader dropped or guessed, and what answers will never quote."""
        notes = [f"{self.name}: {note}" for note in self.result.notes]
        if self.withheld:
            first = " ".join(self.withheld[0].split())
            first = first if len(first) <= 80 else first[:79].rstrip() + "…"
            notes.append(
                f"{self.name}: {len(self.withheld)} passage(s) give instructions to the reader "
                f"or the assistant (such as “{first}”); they stay in the document but are "
                "withheld from answers and never quoted as evidence"
            )
        return notes


@dataclass
class ChangeReport:
    action: str  # "added", "removed", "edited"
    documents: list[dict[str, Any]]
    ingest: IngestReport
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            self.action: self.documents,
            "ingest": self.ingest.to_dict(),
            "notes": self.notes,
        }


def max_bytes(settings: Settings) -> int:
    return int(settings.max_file_mb * 1024 * 1024)


def _too_large(name: str, size: int, settings: Settings) -> InvalidDocument:
    return InvalidDocument(
        f"{name} is {size / 1024 / 1024:.1f} MB, over the {settings.max_file_mb:g} MB limit "
        "for one document (LBW_MAX_FILE_MB)."
    )


def read_source_file(path: str | Path, settings: Settings) -> Source:
    """A file named on the command line: a regular file (not a link) within the size limit.

    A symbolic link is refused rather than followed: `lbw add x.txt` must add x.txt, not
    whatever it points at (a link to /etc/shadow was indexed and served). The file is opened
    without following links and checked on the open descriptor, so it cannot be swapped for
    a link between the check and the read.
    """
    p = Path(path)
    try:
        info = p.lstat()
    except FileNotFoundError as exc:
        raise InvalidDocument(f"No such file: {path}") from exc
    except OSError as exc:
        raise InvalidDocument(f"Cannot read {path}: {exc.strerror}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise InvalidDocument(
            f"{path} is a symbolic link; lbw adds only regular files, never what a link "
            "points at. Add the file itself."
        )
    if not stat.S_ISREG(info.st_mode):
        raise InvalidDocument(f"{path} is not a regular file (a folder, device or pipe).")
    limit = max_bytes(settings)
    if info.st_size > limit:
        raise _too_large(p.name, info.st_size, settings)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a link after the check
            raise InvalidDocument(f"{path} is a symbolic link; add the file itself.") from exc
        raise InvalidDocument(f"Cannot read {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise InvalidDocument(f"{path} is not a regular file (a folder, device or pipe).")
        chunks, size = [], 0
        try:  # never more than the limit, whatever stat said (and no buffer of the limit)
            while chunk := fh.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise _too_large(p.name, size, settings)
                chunks.append(chunk)
        except OSError as exc:
            raise InvalidDocument(f"Cannot read {path}: {exc.strerror}") from exc
    return Source(p.name, b"".join(chunks))


def clean_label(value: str | None, what: str, limit: int = MAX_TITLE) -> str | None:
    """A title, kind or date typed by a user: one line, no control characters."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if not text:
        raise InvalidDocument(f"The {what} is empty.")
    if any(ord(c) < 32 or ord(c) == 127 for c in str(value).replace("\n", " ")):
        raise InvalidDocument(f"The {what} contains control characters.")
    if len(text) > limit:
        raise InvalidDocument(f"The {what} is too long ({len(text)} characters; at most {limit}).")
    return text


def check_source(source: Source, settings: Settings, title: str | None = None) -> Candidate:
    """Every check that needs no lock: name, size, format, readable text (with the lines
    that direct a model found, ingest.formats.defuse), and the passages it makes."""
    name = check_file_name(source.name)
    if len(source.data) > max_bytes(settings):
        raise _too_large(name, len(source.data), settings)
    limits = Limits.from_settings(settings)
    result = read_document(name, source.data, limits)
    budget = Budget(name, limits)
    probe = UserEntry("probe", title or result.title or name, "document", name, "", "", "")
    passages = len(chunk_document(to_parsed(probe, result)))
    budget.count_passages(passages)
    return Candidate(
        name=name,
        data=source.data,
        result=result,
        sha256=sha256_bytes(source.data),
        text_sha256=text_digest(result),
        title=title or result.title or title_from_name(name),
        withheld=list(result.withheld),
        passages=passages,
    )


def _check_work(candidates: list[Candidate], settings: Settings) -> None:
    """Refuse an add whose files together make more new passages than LBW_MAX_ADD_PASSAGES
    (each is embedded, with its sentences): before the lock, nothing written."""
    total = sum(c.passages for c in candidates)
    if total > settings.max_add_passages:
        each = ", ".join(f"{c.name}: {c.passages:,}" for c in candidates[:5])
        raise InvalidDocument(
            f"These files would add {total:,} passages ({each}); one add may embed at most "
            f"{settings.max_add_passages:,} (LBW_MAX_ADD_PASSAGES). Add them a few at a "
            "time, or raise the limit."
        )


def _same_lines_digest(data: bytes) -> str:
    """A hash that a re-save on another system does not change: a bundled text file opened
    and saved on Windows gains CRLF line ends (and maybe a byte-order mark and a final line
    end), but it is the same document and must not be added twice."""
    data = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return sha256_bytes(data.rstrip(b"\n"))


def _refuse_duplicates(
    candidates: list[Candidate],
    entries: list[UserEntry],
    bundled: list[DocumentInfo],
    settings: Settings,
) -> None:
    by_sha = {e.sha256: e for e in entries}
    by_text = {e.text_sha256: e for e in entries if e.text_sha256}
    by_lines: dict[str, Any] = {}  # bundled files, whatever their line endings
    for info in bundled:
        path = Path(settings.corpus_dir) / info.file
        with contextlib.suppress(OSError):
            by_lines.setdefault(_same_lines_digest(path.read_bytes()), info)
    batch: dict[str, Candidate] = {}
    for cand in candidates:
        twin = (
            by_sha.get(cand.sha256)
            or by_text.get(cand.text_sha256)
            or by_lines.get(_same_lines_digest(cand.data))
        )
        if twin is not None:
            raise InvalidDocument(
                f"{cand.name} is already in the library as “{twin.title}” ({twin.id}); "
                "nothing was changed."
            )
        for key in (cand.sha256, cand.text_sha256):
            if key in batch:
                raise InvalidDocument(
                    f"{cand.name} and {batch[key].name} are the same document; add it once."
                )
            batch[key] = cand


def _listing(entry: UserEntry, chunks: int | None) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "kind": entry.kind,
        "file": entry.file,
        "chunks": chunks,
        "added": entry.added,
        "origin": "user",
        "date": entry.date,
        "format": entry.format,
        "source_name": entry.source_name,
    }


def add_documents(
    settings: Settings,
    sources: list[Source],
    title: str | None = None,
    kind: str | None = None,
    date: str | None = None,
    embedder: Embedder | None = None,
    progress: bool = False,
    on_progress: Progress | None = None,
) -> ChangeReport:
    """Add files to the user library and publish an index that includes them, or change nothing."""
    if not sources:
        raise InvalidDocument("Name at least one file to add.")
    title, kind, date = (
        clean_label(title, "title"),
        clean_label(kind, "kind", 40),
        clean_label(date, "date", 40),
    )
    if title and len(sources) > 1:
        raise InvalidDocument("--title names one document: add the files one at a time.")
    candidates = []
    for source in sources:
        if on_progress is not None:
            on_progress(0.0, f"Reading {source.name}")
        candidates.append(check_source(source, settings, title))
    _check_work(candidates, settings)
    library_dir = settings.user_library_dir
    written: list[Path] = []
    with ingest_lock(Path(settings.store_dir)):
        recover_user_library(settings)
        entries = read_user_manifest(library_dir)
        bundled = read_manifest(settings.corpus_dir)
        _refuse_duplicates(candidates, entries, bundled, settings)
        taken = {info.id for info in bundled}
        taken |= {e.id for e in entries}
        if library_dir.is_dir():
            taken |= {p.stem for p in library_dir.iterdir()}
        added: list[UserEntry] = []
        for cand in candidates:
            doc_id = new_doc_id(cand.title, taken)
            taken.add(doc_id)
            added.append(
                UserEntry(
                    id=doc_id,
                    title=cand.title,
                    kind=kind or cand.result.kind or "document",
                    file=doc_id + SAVE_AS[cand.result.format],
                    sha256=cand.sha256,
                    added=time.strftime("%Y-%m-%dT%H:%M:%S"),
                    format=cand.result.format,
                    date=date or cand.result.date,
                    authors=cand.result.authors,
                    source_name=cand.name,
                    text_sha256=cand.text_sha256,
                )
            )
        claim_library_folder(library_dir)
        write_pending(library_dir, [e.file for e in added])  # before any file is written
        try:
            for cand, entry in zip(candidates, added, strict=True):
                path = stored_file(library_dir, entry)
                write_private(path, cand.data)
                written.append(path)
                save_reading(library_dir, cand.sha256, cand.result)
            prepared, report = _publish(
                settings, entries + added, embedder, on_progress, progress=progress
            )
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            clear_pending(library_dir)
            raise
        clear_pending(library_dir)
    counts = Counter(c.doc_id for c in prepared.chunks)
    notes = [note for c in candidates for note in c.notes()]
    return ChangeReport("added", [_listing(e, counts[e.id]) for e in added], report, notes)


def _user_entry(settings: Settings, entries: list[UserEntry], doc_id: str) -> UserEntry:
    for entry in entries:
        if entry.id == doc_id:
            return entry
    for info in read_manifest(settings.corpus_dir):
        if info.id == doc_id:
            raise InvalidDocument(
                f"“{info.title}” ({doc_id}) is part of the bundled library, which cannot be "
                "changed here; only documents you added can be removed or edited."
            )
    raise InvalidDocument(f"No document has the id {doc_id!r}; `lbw docs` lists the ids.")


def _publish(
    settings: Settings,
    entries: list[UserEntry],
    embedder: Embedder | None,
    on_progress: Progress | None,
    progress: bool = False,
) -> tuple[Prepared, IngestReport]:
    """Index the library as it will be with `entries` and publish it; the user manifest is
    written only once the new index is live (build_and_publish's commit step)."""
    prepared = prepare(settings, entries)
    report = build_and_publish(
        settings,
        prepared,
        embedder=embedder,
        progress=progress,
        on_progress=on_progress,
        commit=lambda: write_user_manifest(settings.user_library_dir, entries),
    )
    return prepared, report


def remove_document(
    settings: Settings,
    doc_id: str,
    embedder: Embedder | None = None,
    on_progress: Progress | None = None,
) -> ChangeReport:
    """Take an added document out of the library and the index (its passages are dropped)."""
    library_dir = settings.user_library_dir
    with ingest_lock(Path(settings.store_dir)):
        recover_user_library(settings)
        entries = read_user_manifest(library_dir)
        entry = _user_entry(settings, entries, doc_id)
        # Validate, then publish: a hand-edited entry naming a file outside the folder
        # ("../victim.txt") is refused here, before a new index or manifest exists.
        path = stored_file(library_dir, entry)
        write_pending(library_dir, [entry.file])  # a crash after the publish still frees it
        _, report = _publish(
            settings, [e for e in entries if e.id != doc_id], embedder, on_progress
        )
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        forget_reading(library_dir, entry.sha256)
        clear_pending(library_dir)
    return ChangeReport("removed", [_listing(entry, 0)], report)


def edit_document(
    settings: Settings,
    doc_id: str,
    title: str | None = None,
    kind: str | None = None,
    date: str | None = None,
    embedder: Embedder | None = None,
    on_progress: Progress | None = None,
) -> ChangeReport:
    """Change an added document's title, kind or date. A new title re-embeds its passages
    (the title is part of what is embedded); kind and date change no vector."""
    title, kind, date = (
        clean_label(title, "title"),
        clean_label(kind, "kind", 40),
        clean_label(date, "date", 40),
    )
    if title is None and kind is None and date is None:
        raise InvalidDocument("Nothing to change: give a new title, kind or date.")
    library_dir = settings.user_library_dir
    with ingest_lock(Path(settings.store_dir)):
        recover_user_library(settings)
        entries = read_user_manifest(library_dir)
        entry = _user_entry(settings, entries, doc_id)
        if title is not None:
            entry.title = title
        if kind is not None:
            entry.kind = kind
        if date is not None:
            entry.date = date
        write_pending(library_dir, [])  # in flight: a crash after the publish rolls forward
        prepared, report = _publish(settings, entries, embedder, on_progress)
        clear_pending(library_dir)
    counts = Counter(c.doc_id for c in prepared.chunks)
    return ChangeReport("edited", [_listing(entry, counts[entry.id])], report)


def list_documents(settings: Settings) -> list[dict[str, Any]]:
    """Every document, bundled first, with its passage count in the live index (None when
    it is not indexed, e.g. before the first `lbw ingest`)."""
    counts: Counter[str] | None = None
    served: list[UserEntry] | None = None
    with contextlib.suppress(Exception):
        live = open_live(settings)
        counts = Counter(c.doc_id for c in live.chunks)
        if live.meta.get("user_library") is not None:
            # What is served is the truth, even if an interrupted change left the manifest
            # behind (the next change rolls it forward).
            served = [UserEntry.from_dict(e) for e in live.meta["user_library"]]

    def chunks(doc_id: str) -> int | None:
        return counts[doc_id] if counts is not None and doc_id in counts else None

    rows = [
        {
            "id": info.id,
            "title": info.title,
            "kind": info.kind,
            "file": info.file,
            "chunks": chunks(info.id),
            "added": None,
            "origin": "bundled",
            "date": info.date,
        }
        for info in read_manifest(settings.corpus_dir)
    ]
    if served is None:
        served = read_user_manifest(settings.user_library_dir)
    rows += [_listing(e, chunks(e.id)) for e in served]
    return rows
