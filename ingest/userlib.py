"""The user library: documents a district adds beside the bundled, read-only `corpus/`.

    <library_dir>/manifest.json     {"documents": [{id, title, kind, date, file, added,
                                                    sha256, text_sha256, format, ...}]}
    <library_dir>/<id>.<ext>         the file as it was added, under a name we generate
    <library_dir>/.cache/            what each reader made of a file (keyed by its sha256)

A file's own name is never used as a path: it is checked (no separators, `..`, control or
invisible characters) and kept only as a label. Stored names are `<id><ext>` with ids made
of [a-z0-9-], so nothing can be written outside the folder or over an existing file.
This module only reads and checks; ingest.manage changes the library (atomically, with the
index).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.core.errors import IngestError, InvalidDocument
from assistant.core.types import DocumentInfo
from assistant.storage.builds import write_text_atomic
from ingest.blocks import Block, ParsedDocument, render
from ingest.formats import READER_VERSION, ReadResult, read_document
from ingest.formats.limits import Limits

MANIFEST = "manifest.json"
CACHE = ".cache"
MAX_NAME = 255
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class UserEntry:
    """One added document, as its manifest entry."""

    id: str
    title: str
    kind: str
    file: str
    sha256: str
    added: str
    format: str
    date: str | None = None
    authors: tuple[str, ...] = ()
    source_name: str | None = None  # the name it was added under (a label, never a path)
    text_sha256: str | None = None  # the text it reads as, to spot the same document re-saved

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["authors"] = list(self.authors)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UserEntry:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["authors"] = tuple(known.get("authors") or ())
        return cls(**known)

    def info(self) -> DocumentInfo:
        return DocumentInfo(
            id=self.id,
            title=self.title,
            kind=self.kind,
            file=self.file,
            authors=self.authors,
            date=self.date,
        )


@dataclass
class UserDocument:
    entry: UserEntry
    parsed: ParsedDocument


# -- names ---------------------------------------------------------------------------------
def check_file_name(name: str) -> str:
    """The name as given when it is a plain file name; InvalidDocument for any path trick."""
    shown = ascii(name)
    if not isinstance(name, str) or not name.strip():
        raise InvalidDocument("The file has no name; give it a plain file name like plan.pdf.")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("~"):
        raise InvalidDocument(
            f"The file name {shown} is a path, not a plain file name (it contains a folder "
            "separator, `..` or `~`). Rename the file to a plain name like plan.pdf."
        )
    odd = [c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")]
    if odd:
        raise InvalidDocument(
            f"The file name {shown} contains control or invisible characters "
            f"(such as U+{ord(odd[0]):04X}). Rename the file and add it again."
        )
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME:
        raise InvalidDocument(f"The file name {shown[:60]}… is too long; rename the file.")
    return name


def title_from_name(name: str) -> str:
    """'district_plan-2024.pdf' -> 'district plan 2024' (a fallback title only)."""
    stem = Path(name).stem if "." in name else name
    words = re.sub(r"[_\-.]+", " ", stem).split()
    return " ".join(words)[:200] or "Untitled document"


def new_doc_id(title: str, taken: set[str]) -> str:
    """A readable, unique id made of [a-z0-9-] from the title ('district-plan-2024')."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _SLUG.sub("-", ascii_title.lower()).strip("-")[:48].rstrip("-") or "document"
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    return candidate


# -- the manifest --------------------------------------------------------------------------
def manifest_path(library_dir: Path) -> Path:
    return Path(library_dir) / MANIFEST


def read_user_manifest(library_dir: Path) -> list[UserEntry]:
    """The added documents; an absent folder or manifest is an empty user library."""
    path = manifest_path(library_dir)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [UserEntry.from_dict(d) for d in data["documents"]]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise IngestError(
            f"The user library manifest {path} is not valid ({exc}); restore it or remove "
            "the folder to start an empty user library."
        ) from exc


def write_user_manifest(library_dir: Path, entries: list[UserEntry]) -> None:
    data = {"documents": [e.to_dict() for e in entries]}
    write_text_atomic(manifest_path(library_dir), json.dumps(data, ensure_ascii=False, indent=1))


# -- reading stored files ------------------------------------------------------------------
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_digest(result: ReadResult) -> str:
    """A hash of the text a file reads as: the same document saved twice has the same one."""
    text = "\n".join(" ".join(b.text.split()) for b in result.blocks)
    return hashlib.sha256(text.casefold().encode("utf-8")).hexdigest()


def stored_file(library_dir: Path, entry: UserEntry) -> Path:
    """The stored file of an entry; refuses a (hand-edited) entry pointing outside the folder."""
    if entry.file != Path(entry.file).name or entry.file in ("", ".", "..", MANIFEST):
        raise IngestError(
            f"The user library manifest names {entry.file!r} for {entry.id!r}, which is not a "
            "file in the library folder."
        )
    return Path(library_dir) / entry.file


def _cache_path(library_dir: Path, sha: str) -> Path:
    return Path(library_dir) / CACHE / f"{sha}-v{READER_VERSION}.json"


def _result_to_json(result: ReadResult) -> str:
    data = asdict(result)
    return json.dumps(data, ensure_ascii=False)


def _result_from_json(text: str) -> ReadResult:
    data = json.loads(text)
    blocks = [Block(**{**b, "path": tuple(b["path"])}) for b in data.pop("blocks")]
    data["authors"] = tuple(data.get("authors") or ())
    return ReadResult(blocks=blocks, **data)


def read_stored(library_dir: Path, entry: UserEntry, limits: Limits | None = None) -> ReadResult:
    """What the reader makes of a stored file (within `limits`), from the cache when the
    file is unchanged."""
    path = stored_file(library_dir, entry)
    try:  # never through a link: the stored copy is the file lbw wrote, or nothing
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as fh:
            data = fh.read()
    except FileNotFoundError as exc:
        raise IngestError(
            f"The added document {entry.id!r} is missing its file {path}; restore the file "
            f"or remove the document with `lbw remove {entry.id}`."
        ) from exc
    except OSError as exc:
        raise IngestError(
            f"The added document {entry.id!r} cannot be read from {path} ({exc.strerror}: "
            "lbw reads only the regular file it stored, never a link put in its place); "
            f"restore the file or remove the document with `lbw remove {entry.id}`."
        ) from exc
    sha = sha256_bytes(data)
    cache = _cache_path(library_dir, sha)
    if cache.is_file():
        with contextlib.suppress(Exception):  # an unreadable cache is only a slower read
            return _result_from_json(cache.read_text(encoding="utf-8"))
    result = read_document(entry.file, data, limits)
    save_reading(library_dir, sha, result)
    return result


def save_reading(library_dir: Path, sha: str, result: ReadResult) -> None:
    """Cache a reading (best effort: the library works without it)."""
    with contextlib.suppress(OSError):
        write_text_atomic(_cache_path(library_dir, sha), _result_to_json(result))


def forget_reading(library_dir: Path, sha: str) -> None:
    _cache_path(library_dir, sha).unlink(missing_ok=True)


def to_parsed(entry: UserEntry, result: ReadResult) -> ParsedDocument:
    """Blocks under the entry's id and title, laid out as the readable document."""
    blocks = [Block(**{**asdict(b), "path": tuple(b.path)}) for b in result.blocks]
    parsed = ParsedDocument(entry.id, entry.title, blocks)
    render(parsed)
    return parsed


def load_user_documents(
    library_dir: Path, entries: list[UserEntry], limits: Limits | None = None
) -> list[UserDocument]:
    return [
        UserDocument(entry, to_parsed(entry, result))
        for entry in entries
        for result in [read_stored(library_dir, entry, limits)]
    ]


def document_record(doc: UserDocument) -> dict[str, Any]:
    """The entry as it goes into a build's documents.json (beside the bundled ones)."""
    info = doc.entry.info()
    return {
        **asdict(info),
        "authors": list(info.authors),
        "aliases": [],
        "text": doc.parsed.text,
        "repaired_chars": 0,
        "origin": "user",
        "added": doc.entry.added,
        "format": doc.entry.format,
        "sha256": doc.entry.sha256,
        "source_name": doc.entry.source_name,
    }
