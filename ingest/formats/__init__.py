"""Readers for the files users add: PDF, Word (.docx), HTML, Markdown and plain text.

`read_document(name, data)` decides the format from the content first (a PDF or Word
package is recognised by its signature whatever it is called) and from the extension
otherwise, reads it with that format's reader, and returns blocks plus the metadata found
in the file. Everything that makes a file unusable raises `InvalidDocument` with a message
a user can act on; nothing here touches the disk.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from assistant.core.errors import InvalidDocument
from ingest.formats.base import ReadResult, promote_title
from ingest.formats.limits import Budget, Limits

# Bump when a reader's output changes, so cached readings are not reused.
READER_VERSION = 3  # 2: defused titles, headings and invisible characters (defuse.py);
# 3: a heading with no text under it (a title block's lines) is kept as text

EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}
SAVE_AS = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "markdown": ".md", "text": ".txt"}
SUPPORTED_TEXT = "PDF, Word (.docx), HTML, Markdown (.md) or plain text (.txt)"


def detect_format(name: str, data: bytes) -> str:
    """The reader to use: the file's signature wins over its name."""
    from ingest.formats.docx import ZIP_MAGIC, is_docx
    from ingest.formats.html import looks_like_html
    from ingest.formats.pdf import MAGIC

    ext = PurePosixPath(name).suffix.lower()
    if MAGIC in data[:1024]:
        return "pdf"
    if is_docx(data):
        return "docx"
    by_name = EXTENSIONS.get(ext)
    if by_name in ("pdf", "docx"):
        return by_name  # its reader says why the content is not what the name claims
    if by_name is None and ext:
        raise InvalidDocument(f"{name}: {ext} files are not supported. Add {SUPPORTED_TEXT} files.")
    if data.startswith(ZIP_MAGIC):
        raise InvalidDocument(
            f"{name} is a zip archive, which is not supported. Add {SUPPORTED_TEXT} files."
        )
    if by_name is None:
        return "html" if looks_like_html(data) else "text"
    return by_name


def read_document(name: str, data: bytes, limits: Limits | None = None) -> ReadResult:
    """Read one file within `limits` (ingest.formats.limits; default: the default limits);
    `name` is used only for its extension and in messages."""
    if not data.strip():
        raise InvalidDocument(f"{name} is empty: there is nothing to add.")
    budget = Budget(name, limits)
    if data.startswith(b"PK\x03\x04"):
        budget.check_entry_count(data)  # before detect_format opens the zip
    fmt = detect_format(name, data)
    if fmt == "pdf":
        from ingest.formats.pdf import read_pdf

        result = read_pdf(data, name, budget)
    elif fmt == "docx":
        from ingest.formats.docx import read_docx

        result = read_docx(data, name, budget)
    else:
        from ingest.formats.text import decode

        text = decode(data, name)
        budget.tick()
        if not text.strip():
            raise InvalidDocument(f"{name} is empty: there is nothing to add.")
        if fmt == "html":
            from ingest.formats.html import read_html

            result = read_html(data, name, text, budget)
        elif fmt == "markdown":
            from ingest.formats.markdown import read_markdown

            result = read_markdown(text, budget)
        else:
            from ingest.formats.text import read_text

            result = read_text(text, budget)
    budget.tick()
    if not any(b.text.strip() for b in result.blocks):
        raise InvalidDocument(f"{name} has no readable text.")
    from ingest.formats.defuse import defuse

    return defuse(promote_title(result), budget)
