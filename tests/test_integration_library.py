"""Added documents on the real model and a real embedded Chroma: asked about in plain words
and cited with the right document, section and page."""

from __future__ import annotations

import shutil

import pytest

from assistant.core.settings import Settings
from assistant.service import load_assistant
from ingest.manage import Source, add_documents, remove_document
from tests import documents as d

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(tmp_path_factory, corpus_dir, real_store):
    """A private copy of the real-model index: these tests add documents to it."""
    store = tmp_path_factory.mktemp("lib") / "store"
    shutil.copytree(real_store, store)
    return Settings(corpus_dir=corpus_dir, store_dir=store)


def test_added_documents_are_found_and_cited_with_their_pages(settings):
    report = add_documents(
        settings,
        [
            Source("plan.pdf", d.fact_pdf()),
            Source("memo.docx", d.fact_docx()),
            Source("survey.html", d.fact_html()),
        ],
    )
    ids = {doc["format"]: doc["id"] for doc in report.documents}
    assert report.ingest.embedded == sum(doc["chunks"] for doc in report.documents)
    bot = load_assistant(settings)
    for question, fact, doc_id, pages in (
        ("Which reading labs is Marlowe Valley opening, and by when?", "Quillfeather", "pdf", "2"),
        (
            "Is there a late bus so Harbor Point students can stay for tutoring?",
            "5:15",
            "docx",
            None,
        ),
        ("What did Ridgeline families say about the homework hotline?", "83 percent", "html", None),
    ):
        answer = bot.ask(question)
        assert answer.in_scope, question
        cited = [c for c in answer.citations if fact in c.text]
        assert cited, (question, answer.answer)
        assert (cited[0].doc_id, cited[0].pages) == (ids[doc_id], pages)
        assert cited[0].text in bot.document_text(ids[doc_id])

    remove_document(settings, ids["pdf"])
    answer = bot.ask("Which reading labs is Marlowe Valley opening, and by when?")
    assert all(c.doc_id != ids["pdf"] for c in answer.citations)
