"""The Library page over a real Assistant (hashing embedder, embedded Chroma on a temp store):
upload, refuse bad files, retitle, remove, re-index; every change shows progress and its
outcome, and document text is never rendered as HTML."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from assistant.service import Assistant
from tests import documents as d
from tests.fakes import HashingEmbedder

pytestmark = pytest.mark.app


@pytest.fixture
def bot(store, store_copy):
    settings = store_copy(store)
    return Assistant(settings, HashingEmbedder())


def _page(bot):
    from assistant.app.pages.library import library_page

    library_page(bot)


@pytest.fixture
def page(bot):
    return AppTest.from_function(_page, args=(bot,), default_timeout=60).run()


def upload(at: AppTest, name: str, data: bytes, title: str = "") -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, "application/octet-stream"))
    if title:
        at.text_input(key="upload_title").set_value(title)
    return at.button[0].click().run()  # the form's "Add to the library"


def shown(element) -> str:
    """An element's text as a reader sees it (our escaping backslashes removed)."""
    return element.value.replace("\\", "")


def titles(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


def test_lists_bundled_documents_with_passage_counts(page):
    assert not page.exception
    assert page.header[0].value == "Library"
    assert len(titles(page)) == 5
    assert any("140 passages" in c.value for c in page.caption)
    assert page.button(key="reindex").label == "Re-index the library"


def test_upload_adds_the_document_and_it_is_cited(page, bot):
    at = upload(page, "plan.pdf", d.fact_pdf())
    assert not at.exception and not at.error
    assert shown(at.success[0]).startswith(
        "Added “Marlowe Valley Strategic Plan 2025-2028” (4 passages). Note: plan.pdf: 3 header"
    )
    assert "Marlowe Valley Strategic Plan 2025\\-2028" in titles(at)
    assert any("PDF · added" in c.value and "from plan\\.pdf" in c.value for c in at.caption)
    answer = bot.ask(d.PDF_QUESTION)
    assert any("Quillfeather" in c.text and c.pages == "2" for c in answer.citations)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("scan.pdf", d.scanned_pdf, "scanned PDF with no text layer"),
        ("../../evil.md", d.fact_markdown, "is a path"),
        ("empty.txt", lambda: b"", "is empty"),
    ],
)
def test_bad_upload_shows_why_and_changes_nothing(page, bot, name, data, message):
    before = (bot.index.build_id, len(bot.index.chunks))
    at = upload(page, name, data())
    assert not at.exception
    assert [e.value for e in at.error] and message in shown(at.error[0])
    assert (bot.index.build_id, len(bot.index.chunks)) == before
    assert len(titles(at)) == 5


def test_retitle_and_remove(page, bot):
    at = upload(page, "memo.docx", d.fact_docx())
    doc_id = "harbor-point-transport-memo"
    at.text_input(key=f"title-{doc_id}").set_value("Late bus memo").run()
    at = at.button(key=f"save-{doc_id}").click().run()
    assert not at.exception and shown(at.success[0]).startswith("Saved the changes")
    assert "Late bus memo" in titles(at)
    assert bot.ask(d.DOCX_QUESTION).citations[0].title == "Late bus memo"

    assert at.button(key=f"remove-{doc_id}").disabled  # needs the confirmation first
    at.checkbox(key=f"confirm-{doc_id}").check().run()
    at = at.button(key=f"remove-{doc_id}").click().run()
    assert not at.exception and shown(at.success[0]).startswith("Removed “Late bus memo”")
    assert "Late bus memo" not in titles(at) and len(titles(at)) == 5
    assert doc_id not in bot.index.documents


def test_reindex_reports_an_up_to_date_index(page):
    at = page.button(key="reindex").click().run()
    assert not at.exception
    assert shown(at.success[0]) == "The index is up to date: nothing new to embed."


def test_uploaded_html_is_shown_as_text_only(page):
    at = upload(page, "survey.html", d.fact_html())
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any(d.HTML_FACT in t for t in texts)
    assert not any(d.SCRIPT_MARKER in t for t in texts)
    assert not at.get("html")
    for el in [*at.markdown, *at.caption, *at.subheader]:
        assert not getattr(el, "allow_html", False) and d.SCRIPT_MARKER not in el.value


def test_titles_and_messages_with_markup_are_shown_literally(page):
    at = upload(page, "notes.md", d.fact_markdown(), title="<b>**Our** plan</b>")
    assert not at.exception
    escaped = "\\<b\\>\\*\\*Our\\*\\* plan\\</b\\>"
    assert escaped in titles(at)
    assert at.success[0].value.startswith(f"Added “{escaped}”")
