"""HTML: the main text (trafilatura), its headings as the section path, tables whole.

trafilatura drops navigation, footers, scripts and styles and returns the article as XML
(`head`, `p`, `list`, `table`), which maps straight onto blocks. Nothing in the page is ever
run or rendered: scripts are discarded with the rest of the markup (and counted, so the
user is told), and the text is shown as plain text everywhere.

What a browser would not show is not read either: elements marked `hidden`,
`aria-hidden="true"`, or styled inline with `display: none`, `visibility: hidden` or a zero
font size are dropped before extraction (trafilatura keeps them), so text planted where no
reader sees it ("Note to AI assistants: ...") is never indexed or quoted. Rules in a
stylesheet (a `.hidden` class) are not evaluated; the instruction filter
(assistant.core.safety) is the layer behind.
"""

from __future__ import annotations

import re

from assistant.core.errors import InvalidDocument
from ingest.formats.base import HeadingPath, ReadResult, meta_text, tidy
from ingest.formats.limits import Budget, count_html_blocks

_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL,
)
_SCRIPT = re.compile(rb"<script\b", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|font-size\s*:\s*0(?:\.0*)?(?:[a-z%]+)?\s*(?:;|!|$)",
    re.IGNORECASE,
)


def drop_hidden(text: str) -> tuple[str, int]:
    """The page without the elements a browser would not show, and how many were dropped.

    A page lxml cannot parse is returned as it is (trafilatura then reports it)."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return text, 0
    hidden = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and (
            el.get("hidden") is not None
            or (el.get("aria-hidden") or "").strip().lower() == "true"
            or _HIDDEN_STYLE.search(el.get("style") or "")
            or el.tag in ("template", "noscript")
        )
    ]
    dropped = 0
    for el in hidden:
        if el.getparent() is not None and not any(a in hidden for a in el.iterancestors()):
            el.drop_tree()  # the tail (text after the element) stays
            dropped += 1
    if not dropped:
        return text, 0
    return lxml_html.tostring(root, encoding="unicode"), dropped


def looks_like_html(data: bytes) -> bool:
    return bool(_HTML_START.match(data[:4096]))


def _text(el) -> str:
    return " ".join(tidy("".join(el.itertext())).split())


def _table(el) -> str:
    rows = []
    for row in el.iter("row"):
        cells = [_text(c) for c in row.iter("cell")]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def read_html(data: bytes, name: str, text: str, budget: Budget | None = None) -> ReadResult:
    """`text` is the page decoded (by the caller's charset detection)."""
    budget = budget or Budget(name)
    count_html_blocks(data, budget)  # before the page is parsed
    import trafilatura
    from lxml import etree

    text, hidden = drop_hidden(text)
    budget.tick()
    try:
        xml = trafilatura.extract(
            text,
            output_format="xml",
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            favor_recall=True,
            with_metadata=True,  # title, date and author as the root's attributes: one parse
        )
    except Exception as exc:  # noqa: BLE001 - a page trafilatura cannot parse
        raise InvalidDocument(
            f"{name} is HTML that cannot be read ({type(exc).__name__})."
        ) from exc
    budget.tick()
    scripts = len(_SCRIPT.findall(data))
    if not xml:
        extra = f" (it holds {scripts} script(s), which are never run)" if scripts else ""
        raise InvalidDocument(f"{name} is an HTML page with no readable main text{extra}.")
    root = etree.fromstring(xml.encode("utf-8"))
    heads = HeadingPath()
    blocks = []
    main = root.find("main")
    for number, el in enumerate(main if main is not None else root):
        if number % 1000 == 0:
            budget.tick()
        tag = el.tag
        if tag == "head":
            level = int((el.get("rend") or "h2").lstrip("h") or 2)
            heading = _text(el)
            if heading:
                blocks += heads.enter(level, heading)
        elif tag == "table":
            if table := _table(el):
                blocks.append(heads.block(table, kind="table"))
        elif tag == "list":
            items = [_text(i) for i in el.iter("item")]
            for item in items:
                if item:
                    blocks.append(heads.block(f"- {item}"))
        elif text_ := _text(el):
            blocks.append(heads.block(text_))
    if not blocks:
        raise InvalidDocument(f"{name} is an HTML page with no readable main text.")
    result = ReadResult(
        "html",
        blocks,
        title=meta_text(root.get("title")),
        date=meta_text(root.get("date"), 40),
        authors=tuple(a for a in [meta_text(root.get("author"))] if a),
    )
    if scripts:
        result.notes.append(f"{scripts} script(s) removed; they were never run")
    if hidden:
        result.notes.append(
            f"{hidden} hidden element(s) dropped (hidden, aria-hidden or display: none); "
            "a reader never sees them, so they are not indexed"
        )
    return result
