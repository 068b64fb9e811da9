"""The Streamlit app, driven through AppTest with a FakeAssistant behind our one seam.

The seam is `assistant.app.support.load`: app.py gets its Assistant only from it, so
patching it keeps the index, the model and Chroma out of these tests.
"""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant import Filters, InvalidQuestion, LbwError, Turn
from assistant.app import view as ui
from assistant.core.errors import LLMConfigError
from assistant.core.types import Unsupported, Verification

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def fake(fake_assistant):
    """The FakeAssistant from tests/fakes.py: a canned library and one-citation answer."""
    return fake_assistant


@pytest.fixture
def app(fake):
    """An AppTest of app.py whose assistant is `fake` (the resource cache cleared around it)."""
    st.cache_resource.clear()
    with patch("assistant.app.support.load", return_value=fake) as load:
        at = AppTest.from_file(APP, default_timeout=60)
        at.load = load
        yield at
    st.cache_resource.clear()


def ask(at: AppTest, question: str) -> AppTest:
    return at.chat_input[0].set_value(question).run()


def rendered_markdown(at: AppTest) -> list:
    """Every element that renders Markdown: markdown, captions, and widget/expander labels."""
    return [*at.markdown, *at.caption, *at.title, *at.header, *at.subheader]


def assert_no_raw_html(at: AppTest) -> None:
    for el in rendered_markdown(at):
        assert not getattr(el, "allow_html", False)
        assert "<script>" not in el.value
    for block in [*at.expander, *at.button]:
        assert "<script>" not in block.label
    assert not at.get("html")


def test_renders_title_and_starter_questions(app, fake):
    at = app.run()
    assert not at.exception
    assert at.title[0].value == "Look Both Ways Assistant"
    labels = [b.label for b in at.button]
    for question in ui.starter_questions():
        assert ui.escape_markdown(question) in labels
    assert at.chat_input[0].placeholder == "Ask about scaling blended and personalized learning"
    assert fake.warmed == 0  # warming is load()'s job, and load is the patched seam
    app.load.assert_called_once()


def test_question_shows_answer_and_citation(app, fake):
    at = ask(app.run(), "How do districts choose where to pilot?")
    assert not at.exception
    assert any("Some districts started with ready schools [1]" in m.value for m in at.markdown)
    labels = [e.label for e in at.expander]
    assert any(ui.escape_markdown(fake.TITLE) in label and "\\[1\\]" in label for label in labels)
    assert any(t.value == fake.PASSAGE for t in at.text)
    assert any("22" in c.value and "Why Prioritize Readiness" in c.value for c in at.caption)
    assert fake.asked == [("How do districts choose where to pilot?", [], None)]
    # Starter buttons are gone once the conversation has begun.
    assert not any(b.key and b.key.startswith("starter-") for b in at.button)


def test_more_from_the_library_is_an_expander_not_part_of_the_answer(app, fake):
    at = ask(app.run(), "How do districts choose where to pilot?")
    assert [e.label for e in at.expander if e.label == "More from the library"] == []
    fake.more = "### Why Prioritize Readiness\n- Fulton assessed every school. [1]"
    at = ask(at, "And the other side?")
    more = [e for e in at.expander if e.label == "More from the library"]
    assert len(more) == 1 and not more[0].proto.expanded
    assert any("Fulton assessed every school. [1]" in m.value for m in more[0].markdown)
    answers = [m.value for m in at.markdown if m.value.startswith("Some districts")]
    assert answers and all("Fulton assessed" not in a for a in answers)


def test_sources_under_an_answer_are_the_ones_it_cites_and_mores_sit_inside_more(app, fake):
    from assistant.core.types import Citation

    fake.more = "### Why Prioritize Need\n- Dallas grew by feeder pattern. [2]"
    other = "Dallas ISD scaled through feeder patterns."
    fake.more_citations = [Citation(2, "x#2", "look-both-ways", fake.TITLE, "Why Need?", other)]
    at = ask(app.run(), "How do districts choose where to pilot?")
    assert not at.exception
    more = next(e for e in at.expander if e.label == "More from the library")
    inside = [e.label for e in more.expander]
    assert len(inside) == 1 and "\\[2\\]" in inside[0]
    outside = [e.label for e in at.main.expander if e.label != "More from the library"]
    assert [label for label in outside if label not in inside] == [
        label for label in outside if "\\[1\\]" in label
    ]
    assert any(t.value == other for t in more.text)
    assert sum("\\[2\\]" in e.label for e in at.expander) == 1  # not also under the answer
    assert sum("\\[1\\]" in e.label for e in at.expander) == 1


def test_follow_up_sends_history(app, fake):
    at = ask(app.run(), "How do districts choose where to pilot?")
    at = ask(at, "What did they learn?")
    question, history, _ = fake.asked[-1]
    assert question == "What did they learn?"
    assert [t.role for t in history] == ["user", "assistant"]
    assert history[0] == Turn("user", "How do districts choose where to pilot?")
    assert "[1]" in history[1].content
    assert len(at.chat_message) == 4


def test_starter_button_asks_its_question(app, fake):
    at = app.run()
    at.button(key="starter-0").click().run()
    assert not at.exception
    assert fake.asked[0][0] == ui.starter_questions()[0]
    assert any("Some districts" in m.value for m in at.markdown)


def test_suggested_questions_come_from_the_assistant(app, fake):
    fake.suggestions = ["How did Fulton County choose its first schools?", f"Why {SCRIPT}?"]
    at = app.run()
    labels = [b.label for b in at.button if b.key and b.key.startswith("starter-")]
    assert labels == [ui.escape_markdown(q) for q in fake.suggestions]
    at.button(key="starter-0").click().run()
    assert fake.asked[0][0] == "How did Fulton County choose its first schools?"
    assert_no_raw_html(at)


def test_related_questions_under_an_answer_are_asked_when_clicked(app, fake):
    fake.related = ["What did Fulton County learn?", "Which schools went first?"]
    at = ask(app.run(), "How do districts choose where to pilot?")
    keys = [b.key for b in at.button if b.key and b.key.startswith("related-")]
    assert len(keys) == 2
    at.button(key=keys[1]).click().run()
    assert not at.exception
    assert fake.asked[-1][0] == "Which schools went first?"
    fake.related = []
    fake.in_scope = False
    at = ask(at, "Which LMS vendor should we buy?")
    # two under each of the first two answers, none under the refusal
    assert len([b for b in at.button if b.key and b.key.startswith("related-")]) == 4


def test_passage_with_script_tag_is_shown_as_literal_text(app, fake):
    fake.passage = f"Before {SCRIPT} after *stars* and [link](http://x)"
    at = ask(app.run(), "Where to pilot?")
    assert not at.exception
    assert any(t.value == fake.passage for t in at.text)  # st.text: never parsed
    assert_no_raw_html(at)


def test_lbw_error_is_shown_as_message_not_traceback(app, fake):
    fake.error = LbwError("The library is being rebuilt; ask again in a minute.")
    at = ask(app.run(), "Where to pilot?")
    assert not at.exception
    assert [e.value for e in at.error] == ["The library is being rebuilt; ask again in a minute."]
    # A failed question is not kept in the conversation.
    assert at.session_state["messages"] == []


def test_invalid_question_message(app, fake):
    fake.error = InvalidQuestion("Please type a question: the question is empty.")
    at = ask(app.run(), "x")
    assert not at.exception
    assert at.error[0].value == "Please type a question: the question is empty."


def test_unexpected_error_is_generic(app, fake):
    fake.error = RuntimeError("secret internals")
    at = ask(app.run(), "Where to pilot?")
    assert not at.exception
    assert len(at.error) == 1
    assert "secret internals" not in at.error[0].value


def test_out_of_scope_answer_has_no_citations(app, fake):
    fake.in_scope = False
    at = ask(app.run(), "What is the best lunch menu?")
    assert any("does not cover" in m.value for m in at.markdown)
    assert not at.expander


def test_filters_reach_ask(app, fake):
    at = app.run()
    at.multiselect(key="filter_tensions").set_value(["pace"])
    at.multiselect(key="filter_documents").set_value(["scale-what"])
    at = ask(at.run(), "How fast should we go?")
    assert fake.asked[-1][2] == Filters(tensions=("pace",), doc_ids=("scale-what",))


def test_new_conversation_clears_history(app, fake):
    at = ask(app.run(), "Where to pilot?")
    assert at.session_state["messages"]
    at.button(key="new_conversation").click().run()
    assert at.session_state["messages"] == []
    assert any(b.key == "starter-0" for b in at.button)


def test_loading_error_is_shown(fake):
    st.cache_resource.clear()
    with patch("assistant.app.support.load", side_effect=LbwError("No index; run lbw ingest.")):
        at = AppTest.from_file(APP, default_timeout=60).run()
    st.cache_resource.clear()
    assert not at.exception
    assert at.error[0].value == "No index; run lbw ingest."


def test_library_page_lists_documents(app, fake):
    at = ask(app.run(), "Where to pilot?")
    at.button(key="open-1-1").click().run()  # "Read the whole document" under citation [1]
    assert not at.exception
    assert at.header[0].value == "Library"
    assert [s.value for s in at.subheader] == [
        ui.escape_markdown(d["title"]) for d in fake.documents()
    ]
    assert any("Ellie Avishai" in c.value and "CC BY 4" in c.value for c in at.caption)
    texts = [t.value for t in at.text]
    assert fake.document_text("scale-what") in texts  # the <script> shown literally, as text
    assert_no_raw_html(at)
    # The document the citation came from is opened; the others stay closed.
    opened = [e for e in at.expander if e.proto.expanded]
    assert len(opened) == 1


# -- language models ------------------------------------------------------------------------
class ChosenComposer:
    """Stands in for the composer the sidebar builds; the fake assistant only records it."""

    def __init__(self, settings):
        self.settings = settings


@pytest.fixture
def chosen(monkeypatch):
    """Patch the composer seam: it records the settings each sidebar choice builds from."""
    built: list = []

    def make(settings):
        built.append(settings)
        return ChosenComposer(settings)

    monkeypatch.setattr("assistant.app.support.composer", make)
    return built


def test_offline_composer_is_the_default_and_says_so(app, fake, chosen):
    at = ask(app.run(), "Where to pilot?")
    assert not at.exception
    assert at.selectbox(key="llm_backend").value == "none"
    assert any("composed offline" in c.value for c in at.caption)
    assert fake.composers == [None] and chosen == []
    # No model configured: no per-answer note about which composer answered, and one line in
    # the sidebar on what a model adds and how to connect one.
    hints = [c.value for c in at.sidebar.caption if "language model" in c.value]
    assert hints == [ui.MODEL_HINT] and "Ollama" in hints[0] and "OPENAI_BASE_URL" in hints[0]
    assert not any("language model" in c.value for c in at.main.caption)


def test_sidebar_model_choice_reaches_the_question(app, fake, chosen):
    at = app.run()
    at.selectbox(key="llm_backend").set_value("openai").run()
    at.text_input(key="llm_model_openai").set_value("gpt-4.1-mini").run()
    at = ask(at, "Where to pilot?")
    assert not at.exception
    assert chosen[-1].llm == "openai" and chosen[-1].llm_model == "gpt-4.1-mini"
    composer = fake.composers[-1]
    assert isinstance(composer, ChosenComposer) and composer.settings.llm_model == "gpt-4.1-mini"
    assert any("language model writes the answers" in c.value for c in at.caption)


def test_secrets_choose_the_default_backend(app, fake, chosen):
    app.secrets["LBW_LLM"] = "ollama"
    app.secrets["LBW_LLM_MODEL"] = "llama3.2"
    at = app.run()
    assert at.selectbox(key="llm_backend").value == "ollama"
    assert at.text_input(key="llm_model_ollama").value == "llama3.2"
    assert chosen[-1].llm == "ollama"


def test_a_model_that_cannot_be_set_up_is_a_warning_and_answers_stay_offline(
    app, fake, monkeypatch
):
    monkeypatch.setattr(
        "assistant.app.support.composer",
        lambda settings: (_ for _ in ()).throw(
            LLMConfigError("The anthropic backend needs ANTHROPIC_API_KEY.")
        ),
    )
    at = app.run()
    at.selectbox(key="llm_backend").set_value("anthropic").run()
    at = ask(at, "Where to pilot?")
    assert not at.exception
    assert "ANTHROPIC_API_KEY" in at.warning[0].value
    assert fake.composers == [None]
    assert any("Some districts" in m.value for m in at.markdown)


def test_model_answer_shows_a_verification_note(app, fake, chosen):
    fake.answered_by = "llm"
    fake.verification = Verification(
        removed_markers=(9,),
        unsupported=(Unsupported("Springfield doubled its pilots [1].", (1,), "names it"),),
        model="openai:gpt-4o-mini",
    )
    at = ask(app.run(), "Where to pilot?")
    assert not at.exception
    note = ui.verification_note(fake.ask("Where to pilot?"))
    assert "Written by the language model openai:gpt-4o-mini" in note
    assert "1 sentence that the cited passages do not support" in note and "[9]" in note
    assert ui.escape_markdown(note) in [c.value for c in at.caption]
    assert not any("Springfield" in m.value for m in at.markdown)  # removed text is not shown


def test_fallback_answer_says_the_offline_composer_answered_and_why(app, fake, chosen):
    fake.verification = Verification(
        reason="the language model did not answer within 60 s", model="ollama:llama3.1"
    )
    at = ask(app.run(), "Where to pilot?")
    expected = (
        "Answered by the offline composer instead of ollama:llama3.1: "
        "the language model did not answer within 60 s."
    )
    assert ui.escape_markdown(expected) in [c.value for c in at.caption]


def test_answer_streams_then_is_shown_whole_with_citations(app, fake, chosen):
    at = ask(app.run(), "Where to pilot?")
    answers = [m.value for m in at.markdown if "Some districts started" in m.value]
    assert answers == [fake.ask("Where to pilot?").answer]  # the draft is replaced, not kept
    assert at.session_state["messages"][-1]["answer"].answer == answers[0]
    assert len(at.expander) == 1
