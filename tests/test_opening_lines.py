"""A document's opening lines are read: a memo's title block names its author, date and
subject, and every line of it is heading-shaped (short, no full stop), so a reader that takes
each as a heading and lets the next replace it dropped all but the last. A question about the
superintendent named only there was then refused as a name the library never mentions.
"""

from __future__ import annotations

import pytest

from assistant.answer import scope as scoping
from assistant.service import load_assistant
from ingest.formats import read_document
from ingest.formats.base import HeadingPath
from ingest.manage import add_documents, read_source_file
from tests.documents import make_pdf
from tests.fakes import HashingEmbedder

NAME = "Odalys Brackenridge"
QUESTION = "What did Superintendent Brackenridge decide about literacy coaches?"
BODY = (
    "Every elementary school will have one literacy coach next year. The coaches will meet "
    "weekly with grade-level teams to plan lessons and review student work together."
)
TEXT = f"""Harwell County Public Schools
Memorandum on Literacy Coaching
From Superintendent {NAME}, 3 February 2025

Coaching

{BODY}
"""
MEMO = f"""MEMORANDUM
To: Harwell County Board of Education
From: Superintendent {NAME}
Date: February 3, 2025
Subject: Literacy coaching

{BODY}
"""
MARKDOWN = f"""# Harwell County Public Schools

## Memorandum on Literacy Coaching

## From Superintendent {NAME}, 3 February 2025

## Coaching

{BODY}
"""
HTML = f"""<!doctype html><html><head><title>Literacy coaching memo</title></head><body>
<main><article><h1>Memorandum on Literacy Coaching</h1>
<h2>From Superintendent {NAME}, 3 February 2025</h2>
<h2>Coaching</h2><p>{BODY}</p>
<p>Coaches will be hired from within the district where possible, and each will be trained
in the summer before the school year begins.</p></article></main></body></html>"""


def _docx() -> bytes:
    import io

    import docx

    document = docx.Document()
    document.add_heading("Memorandum on Literacy Coaching", level=1)
    document.add_heading(f"From Superintendent {NAME}, 3 February 2025", level=1)
    document.add_heading("Coaching", level=1)
    document.add_paragraph(BODY)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _pdf() -> bytes:
    return make_pdf(
        [
            [
                ("h1", "Memorandum on Literacy Coaching"),
                ("h2", f"From Superintendent {NAME}, 3 February 2025"),
                ("h2", "Coaching"),
                ("p", BODY),
            ]
        ]
    )


FILES = {
    "memo.txt": TEXT.encode(),
    "header.txt": MEMO.encode(),
    "memo.md": MARKDOWN.encode(),
    "memo.html": HTML.encode(),
    "memo.docx": _docx(),
    "memo.pdf": _pdf(),
}


@pytest.mark.parametrize("name", FILES)
def test_every_reader_keeps_a_title_block(tmp_path, name):
    (tmp_path / name).write_bytes(FILES[name])
    result = read_document(name, (tmp_path / name).read_bytes())
    # What is embedded and searched: the title, each passage's heading path and its text.
    indexed = " ".join(
        [result.title or ""] + [" ".join(b.path) + " " + b.text for b in result.blocks]
    )
    assert NAME in indexed
    assert "3 February 2025" in indexed or "February 3, 2025" in indexed
    assert "Literacy" in indexed
    assert any(BODY[:40] in b.text for b in result.blocks)


def test_plain_text_opening_lines_stay_text_in_reading_order(tmp_path):
    (tmp_path / "memo.txt").write_text(TEXT)
    blocks = read_document("memo.txt", (tmp_path / "memo.txt").read_bytes()).blocks
    assert [b.text for b in blocks[:3]] == [
        "Harwell County Public Schools",
        "Memorandum on Literacy Coaching",
        f"From Superintendent {NAME}, 3 February 2025",
    ]
    assert all(b.path == () for b in blocks[:3])
    assert blocks[3].path == ("Coaching",) and blocks[3].text.startswith("Every elementary")


def test_a_heading_with_text_under_it_is_still_a_heading():
    heads = HeadingPath()
    assert heads.enter(1, "Plan") == []
    heads.block("The plan.")
    assert heads.enter(2, "Budget") == []  # nested: Plan stays on the path
    assert heads.path == ("Plan", "Budget")
    orphans = heads.enter(2, "Staffing")  # Budget had no text: kept as text under Plan
    assert [(b.path, b.text) for b in orphans] == [(("Plan",), "Budget")]
    heads.extend("and hiring")  # a heading printed over two lines is one heading
    assert heads.path == ("Plan", "Staffing and hiring")
    orphans = heads.enter(1, "Appendix")  # Plan had text; Staffing had none
    assert [(b.path, b.text) for b in orphans] == [(("Plan",), "Staffing and hiring")]


@pytest.mark.parametrize("name", ["memo.txt", "header.txt", "memo.md"])
def test_a_question_about_the_author_is_not_refused_as_an_unknown_name(
    tmp_path, store_copy, store, name
):
    (tmp_path / name).write_bytes(FILES[name])
    settings = store_copy(store)
    emb = HashingEmbedder()
    add_documents(settings, [read_source_file(tmp_path / name, settings)], embedder=emb)
    bot = load_assistant(settings, embedder=emb)
    plan, index = bot.plan(QUESTION)
    assert scoping.unknown_names(QUESTION, index.term_stats, index.known_names) == []
    assert scoping.precheck(plan, index) is None
    top = bot.retrieve(f"Superintendent {NAME}", k=3)
    assert any(NAME in p.text for p in top)


def test_orphaned_headings_keep_reading_order():
    heads = HeadingPath()
    heads.enter(1, "Plan")
    heads.enter(2, "Budget")
    orphans = heads.enter(2, "Staffing")  # Plan stays a heading: Budget is text under it
    assert [(b.path, b.text) for b in orphans] == [(("Plan",), "Budget")]
    heads.enter(3, "Hiring")
    orphans = heads.enter(1, "Appendix")  # Plan had text (Budget); Staffing and Hiring none
    assert [(b.path, b.text) for b in orphans] == [
        (("Plan",), "Staffing"),
        (("Plan",), "Hiring"),
    ]
