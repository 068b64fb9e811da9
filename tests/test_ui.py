"""Pure helpers behind the app (assistant/ui.py) and its loading seam (assistant/app_support.py)."""

from __future__ import annotations

import html
from unittest.mock import patch

import pytest

from assistant import Filters, IndexMissing, Settings, Turn
from assistant.app import support as app_support
from assistant.app import view as ui
from assistant.core.types import Citation

TRICKY = [
    "<script>alert(1)</script>",
    "**bold** _it_ `code` ~~gone~~ $x^2$",
    "[link](http://example.com) ![img](x.png) <http://example.com>",
    "# Heading\n- item\n+ item\n1. one\n> quote\n---\n===",
    "a | b\n--|--\n1 | 2",
    "&lt; &amp; &#60; back\\slash :red[colour] :smile:",
    "Prix Fixe vs. A la Carte (pp. 34-35)",
]


def test_escape_markdown_escapes_html_and_markdown_characters():
    escaped = ui.escape_markdown("<script>*x*_y_[z]#`w`</script>")
    assert escaped == "\\<script\\>\\*x\\*\\_y\\_\\[z\\]\\#\\`w\\`\\</script\\>"
    assert ui.escape_markdown("") == ""
    assert ui.escape_markdown(None) == ""
    assert ui.escape_markdown("plain words, no marks") == "plain words, no marks"


@pytest.mark.parametrize("text", TRICKY)
def test_escaped_text_renders_as_the_literal_text(text):
    """A CommonMark renderer with raw HTML *enabled* still shows escaped text verbatim."""
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    rendered = md.render(ui.escape_markdown(text))
    assert "<script" not in rendered
    assert html.unescape(rendered.removeprefix("<p>").removesuffix("</p>\n")) == text


def test_citation_label_and_source():
    c = Citation(3, "lbw#12", "lbw", "Look Both Ways", "Why Prioritize Need?", "text", "22-23")
    assert ui.citation_label(c) == "[3] Look Both Ways — Why Prioritize Need? (pp. 22-23)"
    assert ui.citation_source(c) == "Look Both Ways — Why Prioritize Need? (pp. 22-23)"
    title = "Look Both Ways: A framework to help education leaders navigate competing approaches"
    section = (
        "Question 3: How do we decide where to pilot? (Prioritize Need vs. Prioritize Readiness)"
        " > Why Prioritize Readiness? > Using a Readiness Assessment"
    )
    long = Citation(1, "lbw#40", "lbw", title, section, "text", "20-24")
    assert ui.citation_label(long) == (
        "[1] Look Both Ways: A framework to help education… — Question 3 › Using a Readiness"
        " Assessment (pp. 20-24)"
    )
    assert ui.citation_source(long) == f"{title} — {section} (pp. 20-24)"
    assert ui.short_section("Survey Data > Pace > Figure 2") == "Survey Data › Figure 2"
    assert ui.short_title("Scale What?") == "Scale What?"
    # The paper and the blog's brief share a name; their labels must still differ.
    paper = ui.short_title(title)
    brief = ui.short_title(
        "Look Both Ways: the study in brief (The Learning Accelerator blog, first posted on "
        "Education Next)"
    )
    assert paper != brief and paper.startswith("Look Both Ways: A framework")
    assert brief == "Look Both Ways: the study in brief"
    assert all(len(x) <= 48 for x in (paper, brief))
    one_page = Citation(1, "x#1", "x", "Scale What?", "", "text", "7")
    assert ui.citation_label(one_page) == "[1] Scale What? (p. 7)"
    no_pages = Citation(2, "x#2", "x", "Roadmap", "Vision", "text")
    assert ui.citation_label(no_pages) == "[2] Roadmap — Vision"


def test_starter_questions():
    questions = ui.starter_questions()
    assert 5 <= len(questions) <= 6
    assert len(set(questions)) == len(questions)
    assert all(q.strip() and q.endswith("?") and len(q) < 200 for q in questions)
    joined = " ".join(questions).lower()
    for topic in ("readiness", "fulton", "survey", "cabinet", "scale what"):
        assert topic in joined


def test_document_byline(fake_assistant):
    doc = fake_assistant.documents()[0]
    assert ui.document_byline(doc) == (
        "Ellie Avishai, Beth Rabbitt · The Learning Accelerator · 2018-06 · Licence: CC BY 4.0"
    )
    assert ui.document_byline({"title": "Untitled"}) == ""


def test_history_turns_and_filters():
    messages = [
        {"role": "user", "content": "Where to pilot?"},
        {"role": "assistant", "content": "Start with ready schools [1].", "answer": object()},
    ]
    assert ui.history_turns(messages) == [
        Turn("user", "Where to pilot?"),
        Turn("assistant", "Start with ready schools [1]."),
    ]
    assert ui.make_filters([], []) is None
    assert ui.make_filters(["pace"], []) == Filters(tensions=("pace",))
    assert ui.make_filters([], ["lbw"]) == Filters(doc_ids=("lbw",))


def test_load_builds_the_index_when_missing(tmp_path, fake_assistant):
    settings = Settings(store_dir=tmp_path / "store")
    fake = fake_assistant
    opened = [IndexMissing("no index"), fake]

    def fake_load_assistant(settings, embedder=None):
        result = opened.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    with (
        patch("assistant.app.support.load_assistant", side_effect=fake_load_assistant),
        patch("assistant.embedding.embedder.load_default_embedder", return_value="embedder"),
        patch("ingest.pipeline.run_ingest") as run_ingest,
    ):
        assert app_support.needs_index(settings)
        assert app_support.load(settings) is fake
    run_ingest.assert_called_once_with(settings, embedder="embedder", progress=False)
    assert fake.warmed == 1


def test_load_opens_an_existing_index_without_ingesting(tmp_path, fake_assistant):
    fake = fake_assistant
    with (
        patch("assistant.app.support.load_assistant", return_value=fake),
        patch("ingest.pipeline.run_ingest") as run_ingest,
    ):
        assert app_support.load(Settings(store_dir=tmp_path)) is fake
    run_ingest.assert_not_called()
    assert fake.warmed == 1
