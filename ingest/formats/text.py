"""Plain text in any common encoding: charset-normalizer decides, headings by line shape.

UTF-8 (with or without a BOM) and UTF-16 with a BOM are taken as they are; anything else
goes to charset-normalizer (cp1252, Latin-1, Shift JIS, ...), which for short Western text
is told to prefer Windows-1252 among near-equal guesses. Bytes that decode to no
plausible text in any encoding are refused as binary. The structure comes from the same
heading rules as the bundled articles (ingest.generic).
"""

from __future__ import annotations

import codecs

from assistant.core.errors import InvalidDocument
from ingest.formats.base import ReadResult, tidy
from ingest.formats.limits import Budget, count_lines
from ingest.generic import parse_generic

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes, name: str) -> str:
    """The text, or InvalidDocument when the bytes are not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    if b"\x00" not in data:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None or "\x00" in str(best):
        raise InvalidDocument(
            f"{name} is not text in any encoding we recognise: it looks like a binary file."
        )
    # Short Western text fits several single-byte code pages about equally well; Windows-1252
    # is by far the likeliest of them for documents saved by US district offices.
    western = next(
        (m for m in matches if "cp1252" in m.could_be_from_charset and m.chaos <= best.chaos + 0.1),
        None,
    )
    return str(western or best)


def read_text(text: str, budget: Budget | None = None) -> ReadResult:
    budget = budget or Budget("the text file")
    count_lines(text, budget)  # before it is parsed
    text = tidy(text)
    budget.tick()
    parsed = parse_generic("doc", "", text)
    return ReadResult("text", parsed.blocks)
