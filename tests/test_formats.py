"""Readers per format: structure (headings, pages, tables) and metadata from the file itself."""

from __future__ import annotations

import pytest

from assistant.core.errors import InvalidDocument
from ingest.blocks import Block, ParsedDocument, render
from ingest.chunking import chunk_document, merge_pages
from ingest.formats import detect_format, read_document
from tests import documents as d


def paths(result):
    return [(b.path, b.kind, b.pages) for b in result.blocks]


def test_pdf_headings_from_font_sizes_pages_and_metadata():
    result = read_document("plan.pdf", d.fact_pdf())
    assert result.format == "pdf"
    assert result.title == "Marlowe Valley Strategic Plan 2025-2028"
    assert result.authors == ("Test district",)
    assert paths(result) == [
        ((), "narrative", "1"),
        (("Overview",), "narrative", "1"),
        (("Literacy",), "narrative", "2"),
        (("Literacy",), "narrative", "2"),
        (("Budget",), "narrative", "3"),
    ]
    fact = result.blocks[2].text
    assert fact.startswith(d.PDF_FACT)  # wrapped lines joined back into one paragraph
    assert any("footer" in n or "page-number" in n for n in result.notes)


def test_pdf_headings_from_the_outline_when_type_sizes_say_nothing():
    items = [
        [("p", "Board goals"), ("p", "The board adopted three goals for the year.")],
        [("p", "Staffing"), ("p", "Every school will have a data coach by fall.")],
    ]
    plain = d.make_pdf(items)
    assert all(not b.path for b in read_document("p.pdf", plain).blocks)
    # Same text, with bookmarks on the heading lines.
    import io

    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    for page, (heading, body) in enumerate(items, start=1):
        c.setFont("Helvetica", 11)
        c.drawString(72, 720, heading[1])
        c.bookmarkPage(f"p{page}")
        c.addOutlineEntry(heading[1], f"p{page}", level=0)
        c.drawString(72, 690, body[1])
        c.showPage()
    c.save()
    result = read_document("p.pdf", buf.getvalue())
    assert paths(result) == [
        (("Board goals",), "narrative", "1"),
        (("Staffing",), "narrative", "2"),
    ]


def test_pdf_paragraph_running_over_a_page_break_names_both_pages():
    pdf = d.make_pdf(
        [
            [("h2", "Budget"), ("p", "The board will review the tutoring")],
            [("p", "budget in May, after the spring assessments."), ("p", "A new paragraph.")],
        ]
    )
    blocks = read_document("b.pdf", pdf).blocks
    assert [(b.text, b.pages) for b in blocks] == [
        ("The board will review the tutoring budget in May, after the spring assessments.", "1-2"),
        ("A new paragraph.", "2"),
    ]


def test_docx_styles_tables_and_core_properties():
    result = read_document("memo.docx", d.fact_docx())
    assert result.title == "Harbor Point transport memo"
    assert result.authors == ("Transport office",)
    assert paths(result) == [
        (("Late buses",), "narrative", None),
        (("Late buses",), "narrative", None),
        (("Late buses", "Riders by route"), "table", None),
        (("Late buses", "Riders by route"), "narrative", None),
    ]


def test_html_main_text_headings_metadata_and_no_scripts():
    result = read_document("survey.html", d.fact_html())
    assert (result.title, result.date) == ("Ridgeline family survey results", "2024-05-02")
    assert result.authors == ("Ridgeline research office",)
    texts = [b.text for b in result.blocks]
    assert d.HTML_FACT in texts
    assert result.blocks[texts.index(d.HTML_FACT)].path == ("Findings",)
    assert not any(d.SCRIPT_MARKER in t or "Home" in t or "Copyright" in t for t in texts)
    assert result.notes == ["2 script(s) removed; they were never run"]


def test_markdown_headings_title_and_whole_tables():
    result = read_document("notes.md", d.fact_markdown())
    assert result.title == "Oakhaven leadership notes"
    assert paths(result) == [
        (("Meetings",), "narrative", None),
        (("Pilot measures",), "table", None),
    ]
    assert result.blocks[1].text.splitlines()[-1] == "| Reading growth | 1.2 years |"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_text_in_any_common_encoding(encoding):
    body = (
        "The café will serve crème brûlée and piñatas at the señor's fête, a déjà vu for "
        "every élève in the école."
    )
    if encoding != "latin-1":
        body += " Breakfast is free — for everyone."
    result = read_document("notes.txt", f"Café budget\n\n{body}\n".encode(encoding))
    assert result.title == "Café budget"
    assert result.blocks[0].text == body


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Бюджет школы на следующий год утвердит совет директоров в мае.", "cp1251"),
        (
            "学校の予算は五月に理事会で承認されます。保護者との話し合いの後に決まります。",
            "shift_jis",
        ),
    ],
)
def test_text_in_other_scripts(text, encoding):
    assert read_document("notes.txt", text.encode(encoding)).blocks[0].text == text


def test_the_content_decides_the_format_not_the_name():
    assert detect_format("plan.txt", d.fact_pdf()) == "pdf"
    assert detect_format("memo", d.fact_docx()) == "docx"
    assert detect_format("page", d.fact_html()) == "html"
    with pytest.raises(InvalidDocument, match=r"\.exe files are not supported"):
        detect_format("tool.exe", b"MZ\x90\x00")


def test_chunks_keep_pages_and_tables_whole():
    blocks = [
        Block(("Budget",), "First paragraph on page two.", pages="2", group="Budget@2"),
        Block(("Budget",), "Second paragraph, running on.", pages="2-3", group="Budget@2"),
        Block(("Budget", "Table"), "A | B\n" + "1 | 2\n" * 400, kind="table"),
    ]
    doc = ParsedDocument("x", "X", blocks)
    render(doc)
    chunks = chunk_document(doc)
    assert [(c.pages, c.kind, c.section) for c in chunks] == [
        ("2-3", "narrative", "Budget"),
        (None, "table", "Budget > Table"),
    ]
    assert chunks[1].text == blocks[2].text  # 800 "words" and still one chunk
    assert all(c.text in doc.text for c in chunks)


def test_merge_pages():
    assert merge_pages(["22-23", "22-23"]) == "22-23"
    assert merge_pages(["2", "2-3", None]) == "2-3"
    assert merge_pages(["iv", "1"]) == "iv, 1"
    assert merge_pages([None]) is None
