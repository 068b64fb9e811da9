"""The library on disk: a folder of documents described by `manifest.json`.

`load_library` reads, cleans and parses every document, returning parsed documents with
their readable text (what a citation opens) and the repair counts for the ingest report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.errors import IngestError
from assistant.core.types import DocumentInfo
from ingest.blocks import ParsedDocument, render
from ingest.clean import clean_text
from ingest.generic import parse_generic
from ingest.whitepaper import parse_whitepaper

MANIFEST = "manifest.json"


@dataclass
class Library:
    documents: list[DocumentInfo]
    parsed: list[ParsedDocument]
    repaired_chars: dict[str, int] = field(default_factory=dict)
    dropped_lines: dict[str, int] = field(default_factory=dict)


def read_manifest(corpus_dir: Path) -> list[DocumentInfo]:
    path = Path(corpus_dir) / MANIFEST
    if not path.is_file():
        raise IngestError(
            f"No library manifest at {path}: the corpus folder needs a manifest.json."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["documents"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise IngestError(f"The library manifest {path} is not valid: {exc}") from exc
    docs = []
    seen = set()
    for entry in entries:
        try:
            info = DocumentInfo(
                id=str(entry["id"]),
                title=str(entry["title"]),
                kind=str(entry.get("kind") or "document"),
                file=str(entry["file"]),
                authors=tuple(entry.get("authors") or ()),
                publisher=entry.get("publisher"),
                date=entry.get("date"),
                licence=entry.get("licence"),
                aliases=tuple(entry.get("aliases") or ()),
            )
        except KeyError as exc:
            raise IngestError(f"A manifest entry in {path} lacks {exc}: {entry!r}") from exc
        if info.id in seen:
            raise IngestError(f"The manifest {path} lists the document id {info.id!r} twice.")
        seen.add(info.id)
        docs.append(info)
    return docs


def parse_document(info: DocumentInfo, raw: str) -> tuple[ParsedDocument, int, int]:
    cleaned = clean_text(raw)
    if not cleaned.text.strip():
        raise IngestError(f"The document {info.file!r} is empty.")
    if info.kind == "white-paper" and "Benefits at a Glance" in cleaned.text:
        parsed = parse_whitepaper(info.id, info.title, cleaned.text)
    else:
        parsed = parse_generic(info.id, info.title, cleaned.text)
    if not parsed.blocks:
        raise IngestError(f"No text could be read from {info.file!r}.")
    render(parsed)
    return parsed, cleaned.repaired_chars, cleaned.dropped_lines


def load_library(corpus_dir: Path) -> Library:
    corpus_dir = Path(corpus_dir)
    docs = read_manifest(corpus_dir)
    lib = Library(docs, [])
    for info in docs:
        path = corpus_dir / info.file
        if not path.is_file():
            raise IngestError(f"The manifest names {info.file!r}, which is not in {corpus_dir}.")
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise IngestError(f"{path} is not UTF-8 text ({exc.reason}).") from exc
        parsed, repaired, dropped = parse_document(info, raw)
        lib.parsed.append(parsed)
        lib.repaired_chars[info.id] = repaired
        lib.dropped_lines[info.id] = dropped
    return lib
