"""PDF: text per page with its page label, headings from the outline or from font sizes.

pypdf (pure Python, no native code) reads the text layer. Its text visitor reports every
fragment with its position and font size, from which lines, paragraphs (a vertical gap
wider than the page's usual line spacing) and headings are rebuilt:

- the outline (bookmarks), when the file has one, gives the headings and their depth; an
  entry found as a line on its page becomes that line, otherwise it opens its page;
- without an outline, short lines set clearly larger than the body text are headings, one
  level per distinct size.

Each paragraph keeps the page label it was printed on (a paragraph running over a page
break gets "4-5"), and narrative is never packed across pages, so a citation names the page
where the passage is. Running headers and footers (the same line on most pages) and bare
page numbers are dropped. Encrypted files, files that are not PDFs, and scans without a
text layer are refused with a message that says what to do. Tables in PDFs are read as
lines of text: the format does not mark them.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from assistant.core.errors import InvalidDocument
from assistant.core.text import squash
from ingest.formats.base import HeadingPath, ReadResult, meta_text, tidy
from ingest.formats.limits import Budget

MAGIC = b"%PDF-"
_TERMINAL = tuple('.?!:;”"’)…')
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[0-9ivxlc]{1,6}(?:\s*(?:of|/)\s*\d+)?$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")


@dataclass
class Line:
    text: str = ""
    y: float | None = None
    size: float = 0.0


@dataclass
class Page:
    label: str
    lines: list[Line] = field(default_factory=list)


def _collect_lines(page, budget: Budget) -> list[Line]:
    """Lines of one page with their baseline and the largest font size on them."""
    lines: list[Line] = [Line()]
    calls = 0

    def visit(text, cm, tm, _font, font_size):
        nonlocal calls
        calls += 1
        if calls % 5000 == 0:
            budget.tick()  # a page of a million fragments
        if not text:
            return
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3]) or 1.0
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        parts = text.split("\n")
        for k, part in enumerate(parts):
            if k:
                lines.append(Line())
            if part.strip():
                line = lines[-1]
                line.text += part
                line.size = max(line.size, float(font_size or 0) * scale)
                if line.y is None:
                    line.y = y
            else:
                lines[-1].text += part

    page.extract_text(visitor_text=visit)
    out = []
    for line in lines:
        line.text = tidy(line.text)
        if line.text:
            out.append(line)
    return out


def _drop_furniture(pages: list[Page]) -> int:
    """Remove bare page numbers and lines repeated on most pages (running heads, footers)."""
    if len(pages) >= 3:
        seen = Counter(
            key for p in pages for key in {_DIGITS.sub("#", ln.text.lower()) for ln in p.lines}
        )
        repeated = {k for k, n in seen.items() if n >= max(3, len(pages) // 2 + 1)}
    else:
        repeated = set()
    dropped = 0
    for p in pages:
        kept = []
        for ln in p.lines:
            if _PAGE_NUMBER.match(ln.text) or _DIGITS.sub("#", ln.text.lower()) in repeated:
                dropped += 1
            else:
                kept.append(ln)
        p.lines = kept
    return dropped


def _outline(reader) -> list[tuple[int, int, str]]:
    """(page index, depth, title) for every outline entry that points at a page."""
    out: list[tuple[int, int, str]] = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # noqa: BLE001 - a broken bookmark is skipped, not fatal
                continue
            title = meta_text(getattr(item, "title", None), 200)
            if title and page is not None and page >= 0:
                out.append((page, depth, title))

    try:
        walk(reader.outline, 1)
    except Exception:  # noqa: BLE001 - an unreadable outline: fall back to font sizes
        return []
    return out


def _norm(text: str) -> str:
    return squash(text.casefold())


def _body_size(pages: list[Page]) -> float:
    sizes: Counter[float] = Counter()
    for p in pages:
        for ln in p.lines:
            sizes[round(ln.size, 1)] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _is_heading_line(line: Line, body: float) -> bool:
    return (
        body > 0
        and line.size >= body * 1.15
        and len(line.text) <= 120
        and len(line.text.split()) <= 14
        and not line.text.endswith((".", ",", ";"))
    )


def _line_spacing(pages: list[Page], body: float) -> float:
    """The usual distance between two body lines (the most common gap in the document,
    smallest on a tie); a clearly wider gap starts a new paragraph. With too few lines to
    tell, a typical leading of 1.3 times the body size."""
    gaps = Counter(
        round(a.y - b.y, 1)
        for page in pages
        for a, b in zip(page.lines, page.lines[1:], strict=False)
        if a.y is not None
        and b.y is not None
        and a.y > b.y
        and abs(a.size - body) < 0.5
        and abs(b.size - body) < 0.5
    )
    if sum(gaps.values()) < 3:
        return 1.3 * body
    top = max(gaps.values())
    return min(g for g, n in gaps.items() if n == top)


def _joined(lines: list[str]) -> str:
    """Wrapped lines as one paragraph, hyphen breaks undone, in time linear in its length (a
    paragraph that never ends a sentence ran over 1,999 pages, and joining it line by line
    onto the text so far took minutes)."""
    out: list[str] = []
    for line in lines:
        if out:
            last = out[-1]
            if last.endswith("-") and len(last) > 1 and last[-2].isalpha() and line[:1].islower():
                out[-1] = last[:-1]
            else:
                out.append(" ")
        out.append(line)
    return "".join(out)


def _pages_label(first: str, last: str) -> str:
    return first if first == last else f"{first}-{last}"


def _structure(
    pages: list[Page], outline: list[tuple[int, int, str]], budget: Budget | None = None
) -> list:
    body = _body_size(pages)
    heading_sizes = sorted(
        {round(ln.size, 1) for p in pages for ln in p.lines if _is_heading_line(ln, body)},
        reverse=True,
    )
    level_of = {size: i + 1 for i, size in enumerate(heading_sizes[:4])}
    spacing = _line_spacing(pages, body)
    heads = HeadingPath()
    blocks = []
    para: list[str] = []  # the open paragraph, one entry per line
    labels: list[str] = []  # the page labels it runs over

    def flush() -> None:
        if para:
            text = _joined(para)
            blocks.append(heads.block(text, pages=_pages_label(labels[0], labels[-1])))
            para.clear()
            labels.clear()

    for index, page in enumerate(pages):
        if budget is not None:
            budget.tick()
        entries = [(depth, title) for p, depth, title in outline if p == index]
        on_page = {_norm(ln.text) for ln in page.lines}
        # Bookmarks whose title is not printed on their page open at the top of it.
        if any(_norm(t) not in on_page for _, t in entries):
            flush()
            for depth, title in entries:
                if _norm(title) not in on_page:
                    blocks += heads.enter(depth, title, page.label)
        pending = [e for e in entries if _norm(e[1]) in on_page]
        prev: Line | None = None
        heading_size: float | None = None  # size of the heading line just read, if any
        for line in page.lines:
            match = next((e for e in pending if _norm(e[1]) == _norm(line.text)), None)
            if match is not None:
                flush()
                pending.remove(match)
                blocks += heads.enter(*match, page.label)
                prev, heading_size = line, None
                continue
            if not outline and _is_heading_line(line, body):
                if heading_size == line.size and heads.path:
                    heads.extend(line.text)  # a heading printed over two lines
                else:
                    flush()
                    level = level_of.get(round(line.size, 1), len(level_of) + 1)
                    blocks += heads.enter(level, line.text, page.label)
                prev, heading_size = line, line.size
                continue
            if para and prev is None:
                # First line of a page: continue the paragraph only mid-sentence.
                new_paragraph = para[-1].endswith(_TERMINAL) or not line.text[:1].islower()
            elif para and heading_size is None and prev is not None:
                drop = (prev.y - line.y) if prev.y is not None and line.y is not None else 0.0
                new_paragraph = drop < 0 or (spacing > 0 and drop > spacing * 1.35)
            else:
                new_paragraph = True
            if new_paragraph:
                flush()
            para.append(line.text)
            if not labels or labels[-1] != page.label:
                labels.append(page.label)
            prev, heading_size = line, None
    flush()
    return blocks


def _date(value) -> str | None:
    if value is None:
        return None
    try:
        return value.date().isoformat()
    except AttributeError:
        return None


def read_pdf(data: bytes, name: str, budget: Budget | None = None) -> ReadResult:
    budget = budget or Budget(name)
    if MAGIC not in data[:1024]:
        raise InvalidDocument(
            f"{name} is not a PDF: the file does not start with the PDF signature "
            "(is it another kind of file renamed to .pdf?)."
        )
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not for users
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except Exception:  # noqa: BLE001 - an unsupported cipher is still "locked"
                unlocked = 0
            if not unlocked:
                raise InvalidDocument(
                    f"{name} is an encrypted (password-protected) PDF. Save an unprotected "
                    "copy (for example, print it to PDF) and add that instead."
                )
        count = len(reader.pages)
        budget.count_pages(count)  # before any page is read
        labels = list(reader.page_labels) if count else []
        pages = []
        for i, page in enumerate(reader.pages):
            budget.tick()
            pages.append(
                Page(labels[i] if i < len(labels) else str(i + 1), _collect_lines(page, budget))
            )
        outline = _outline(reader)
        info = reader.metadata or {}
    except InvalidDocument:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        raise InvalidDocument(
            f"{name} is a damaged PDF that cannot be read ({type(exc).__name__}). "
            "Try opening it and saving a fresh copy."
        ) from exc
    if not pages:
        raise InvalidDocument(f"{name} is a PDF with no pages.")
    if not any(p.lines for p in pages):
        raise InvalidDocument(
            f"{name} is a scanned PDF with no text layer: there is no text to read. "
            "Run OCR on it first (for example with ocrmypdf) and add the result."
        )
    budget.tick()
    dropped = _drop_furniture(pages)
    blocks = _structure(pages, outline, budget)
    if not blocks:
        raise InvalidDocument(f"{name} has no readable text besides page numbers and headers.")
    result = ReadResult(
        "pdf",
        blocks,
        title=meta_text(info.get("/Title")),
        date=_date(getattr(info, "creation_date", None)),
        authors=tuple(a for a in [meta_text(info.get("/Author"))] if a),
    )
    empty = sum(1 for p in pages if not p.lines)
    if empty:
        result.notes.append(f"{empty} of {len(pages)} pages had no text layer and were skipped")
    if dropped:
        result.notes.append(f"{dropped} header, footer or page-number lines dropped")
    return result
