"""Limits on what one added file may expand to when read, and on how long reading it takes.

Why: LBW_MAX_FILE_MB bounds only the bytes handed in. A 179 KB DOCX that inflated to 43 MB
of XML (400,000 paragraphs) was read for 553 s at 1 GB of memory, and accepted. So each
reader works within a `Budget`, checked as early as each limit can be known:

- a DOCX package: the number of parts and their inflated sizes from its zip directory
  before anything is inflated; then the bytes actually inflated, part by part (a directory
  can lie), and the paragraphs of every XML part (by name or by content) counted while
  its XML streams past (lxml iterparse, memory held flat), all before python-docx loads
  the whole tree;
- a PDF: its page count before any page is read (pypdf bounds each stream it inflates);
- HTML, Markdown and text: their block elements or lines, counted before they are parsed;
- any format: the passages its text will make (LBW_MAX_DOC_PASSAGES), first as a lower
  bound from its word count, before the instruction check and chunking, then exactly (a
  10 MB text of one line passed every limit above and became 9,228 passages);
- time: checked between pages, paragraphs and elements, after every library call, and
  between the pieces of the instruction check (assistant.core.safety), which once ran for
  minutes past the limit on a 1,999-page PDF. A single library call is bounded by the limits
  above, not interrupted (Python cannot stop a call in C); the size limits keep each short.

Every refusal is an InvalidDocument that names the limit and the setting that raises it.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from dataclasses import dataclass

from assistant.core.errors import InvalidDocument

MB = 1024 * 1024
_CHUNK = 1 << 16
_WORDML = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@dataclass(frozen=True)
class Limits:
    """The limits for one file; the defaults are Settings' (assistant.core.settings)."""

    unpacked_mb: float = 200.0
    xml_mb: float = 40.0
    parts: int = 5000
    paragraphs: int = 50_000
    pages: int = 2000
    seconds: float = 120.0
    passages: int = 2000  # passages one document may make (each is embedded)

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(
            unpacked_mb=settings.max_unpacked_mb,
            xml_mb=settings.max_xml_mb,
            parts=settings.max_parts,
            paragraphs=settings.max_paragraphs,
            pages=settings.max_pages,
            seconds=settings.max_read_seconds,
            passages=settings.max_doc_passages,
        )


class Budget:
    """One file's reading: its name (for messages), its limits and its clock."""

    def __init__(self, name: str, limits: Limits | None = None) -> None:
        self.name = name
        self.limits = limits or Limits()
        self.started = time.monotonic()

    def refuse(self, what: str, limit: str, setting: str) -> InvalidDocument:
        return InvalidDocument(
            f"{self.name} is refused: {what}; the limit is {limit} ({setting}). A file "
            "that expands this far or reads this long may be built to exhaust the machine (a "
            "decompression bomb); if it is a genuine document, split it or raise the limit."
        )

    def tick(self) -> None:
        """Refuse once reading has taken longer than the time limit."""
        elapsed = time.monotonic() - self.started
        if elapsed > self.limits.seconds:
            raise self.refuse(
                f"reading it took more than {elapsed:.0f} s",
                f"{self.limits.seconds:g} s to read one file",
                "LBW_MAX_READ_SECONDS",
            )

    def count_paragraphs(self, count: int, unit: str = "paragraphs") -> None:
        if count > self.limits.paragraphs:
            raise self.refuse(
                f"it has more than {self.limits.paragraphs:,} {unit}",
                f"{self.limits.paragraphs:,} paragraphs",
                "LBW_MAX_PARAGRAPHS",
            )

    def count_passages(self, count: int, at_least: bool = False) -> None:
        """Refuse a document that makes more passages than the limit (`at_least`: `count`
        is a lower bound, from its words, before it is chunked)."""
        if count > self.limits.passages:
            raise InvalidDocument(
                f"{self.name} is refused: it {'would make at least' if at_least else 'makes'} "
                f"{count:,} passages; the limit is {self.limits.passages:,} passages per "
                "document (LBW_MAX_DOC_PASSAGES). Every passage is embedded, so that many "
                "would keep the machine busy for a long time; split the document, or raise "
                "the limit."
            )

    def count_pages(self, count: int) -> None:
        if count > self.limits.pages:
            raise self.refuse(
                f"it has {count:,} pages", f"{self.limits.pages:,} pages", "LBW_MAX_PAGES"
            )

    def _unpacked(self, size: int, declared: bool) -> InvalidDocument:
        how = "its zip directory declares" if declared else "inflating it gave over"
        return self.refuse(
            f"{how} {size / MB:,.1f} MB unpacked",
            f"{self.limits.unpacked_mb:g} MB unpacked",
            "LBW_MAX_UNPACKED_MB",
        )

    def _xml(self, size: int, declared: bool) -> InvalidDocument:
        how = "its zip directory declares" if declared else "inflating it gave over"
        return self.refuse(
            f"{how} {size / MB:,.1f} MB of XML",
            f"{self.limits.xml_mb:g} MB of XML parts",
            "LBW_MAX_XML_MB",
        )

    def check_entry_count(self, data: bytes) -> None:
        """Refuse a zip whose end record declares more parts than the limit, before its
        directory is parsed (zipfile builds a record for every entry)."""
        count = zip_entry_count(data)
        if count is not None and count > self.limits.parts:
            raise self._parts(count)

    def check_package(self, data: bytes) -> None:
        """Check a DOCX (zip) package against every limit before a parser loads it."""
        self.check_entry_count(data)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                infos = zf.infolist()
                if len(infos) > self.limits.parts:
                    raise self._parts(len(infos))
                self._check_declared(infos)
                self._check_inflated(zf, infos)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise InvalidDocument(
                f"{self.name} is a damaged Word document that cannot be read "
                f"({type(exc).__name__}: its package is not a sound zip file)."
            ) from exc

    def _parts(self, count: int) -> InvalidDocument:
        return self.refuse(
            f"its package holds {count:,} parts",
            f"{self.limits.parts:,} parts",
            "LBW_MAX_PARTS",
        )

    def _check_declared(self, infos: list[zipfile.ZipInfo]) -> None:
        total = sum(i.file_size for i in infos)
        if total > self.limits.unpacked_mb * MB:
            raise self._unpacked(total, declared=True)
        xml = sum(i.file_size for i in infos if _is_xml(i.filename))
        if xml > self.limits.xml_mb * MB:
            raise self._xml(xml, declared=True)

    def _check_inflated(self, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
        """Inflate every part once, counting the bytes it really gives, and count the
        paragraphs of every XML part as it streams past. A part is XML by its name or by
        its first bytes, so a body stored under another name is counted too."""
        total = xml = paragraphs = 0
        for info in infos:
            if info.is_dir():
                continue
            with zf.open(info) as part:
                stream = _Counted(part, self, _is_xml(info.filename), total, xml)
                if stream.is_xml:
                    paragraphs = self._count_paragraphs(stream, paragraphs)
                stream.drain()
            total, xml = stream.total, stream.xml
            self.tick()

    def _count_paragraphs(self, stream: _Counted, paragraphs: int) -> int:
        from lxml import etree

        try:
            for _, element in etree.iterparse(
                stream,
                events=("end",),
                tag=f"{{{_WORDML}}}p",
                resolve_entities=False,
                no_network=True,
                huge_tree=False,
            ):
                paragraphs += 1
                element.clear(keep_tail=False)
                if paragraphs % 1000 == 0:
                    self.count_paragraphs(paragraphs)
                    self.tick()
        except etree.XMLSyntaxError:
            pass  # not XML after all, or damaged: python-docx reports it in its own words
        self.count_paragraphs(paragraphs)
        return paragraphs


class _Counted(io.RawIOBase):
    """A part being inflated, read through a counter that refuses past the limits."""

    def __init__(self, part, budget: Budget, is_xml: bool, total: int, xml: int) -> None:
        self.part, self.budget = part, budget
        self.total, self.xml = total, xml
        self._head = self._take(_CHUNK)
        # XML by its first bytes too (a byte-order mark, blank space, then "<").
        self.is_xml = is_xml or self._head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
        if self.is_xml:
            self._add_xml(len(self._head))

    def _take(self, size: int) -> bytes:
        data = self.part.read(size)
        self.total += len(data)
        if self.total > self.budget.limits.unpacked_mb * MB:
            raise self.budget._unpacked(self.total, declared=False)
        return data

    def _add_xml(self, size: int) -> None:
        self.xml += size
        if self.xml > self.budget.limits.xml_mb * MB:
            raise self.budget._xml(self.xml, declared=False)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = _CHUNK if size is None or size < 0 else min(size, _CHUNK)
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        data = self._take(size)
        if self.is_xml:
            self._add_xml(len(data))
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels"))


def zip_entry_count(data: bytes) -> int | None:
    """The entry count a zip's end record declares (read before the directory is parsed, so
    a package with a million entries is refused without building a million records)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    count = int.from_bytes(data[end + 10 : end + 12], "little")
    return None if count == 0xFFFF else count  # 0xFFFF: a zip64 count, left to zipfile


_HTML_BLOCK = re.compile(
    rb"<(?:p|li|tr|td|th|br|div|h[1-6]|dd|dt|blockquote|pre|section|article)\b", re.IGNORECASE
)


_LINE = re.compile(r"^[ \t]*\S", re.MULTILINE)


def count_html_blocks(data: bytes, budget: Budget) -> None:
    """Refuse a page with more block elements (paragraphs, items, cells) than the limit."""
    budget.count_paragraphs(sum(1 for _ in _HTML_BLOCK.finditer(data)), "block elements")


def count_lines(text: str, budget: Budget) -> None:
    """Refuse Markdown or text with more non-empty lines than the paragraph limit."""
    budget.count_paragraphs(sum(1 for _ in _LINE.finditer(text)), "lines of text")
