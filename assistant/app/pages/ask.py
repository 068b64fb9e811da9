"""The Ask page: a chat whose answers cite library passages.

The loop is Streamlit's own: redraw the conversation, then `if q := st.chat_input(): ...`.
A model's answer streams in as checked text and is then redrawn whole with its citations;
every citation opens the passage it rests on, and the whole document in the Library page.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import streamlit as st

from assistant.app import view as ui
from assistant.app.cache import app_settings, assistant_or_stop, get_composer
from assistant.core.backends import DEFAULT_LLM_MODELS, LLM_BACKENDS
from assistant.core.domain import TENSION_BY_ID, TENSIONS
from assistant.core.errors import LbwError
from assistant.core.settings import Settings
from assistant.core.types import Answer

log = logging.getLogger("lbw.app")

PLACEHOLDER = "Ask about scaling blended and personalized learning"
GENERIC_ERROR = "Something went wrong on our side; it has been logged. Please try again."


def ask_page(library_page: st.Page) -> None:
    """The chat; `library_page` is where a citation's \"Read the whole document\" goes."""
    settings = app_settings()  # read once per rerun: secrets, .env and the environment
    bot = assistant_or_stop(settings)
    filters, composer = sidebar(bot, settings)
    messages = st.session_state.setdefault("messages", [])
    for i, message in enumerate(messages):
        with st.chat_message(message["role"]):
            if "answer" in message:
                show_answer(message["answer"], key=str(i), library_page=library_page)
            else:
                st.text(message["content"])

    # st.chat_input is pinned to the bottom of the page wherever it is called.
    if question := st.chat_input(PLACEHOLDER) or st.session_state.pop("starter", None):
        respond(bot, question, filters, composer, library_page)
    elif not messages:
        show_starters(bot)


def sidebar(bot, settings: Settings):
    with st.sidebar:
        st.button("New conversation", key="new_conversation", on_click=new_conversation)
        tensions = st.multiselect(
            "Tensions",
            [t.id for t in TENSIONS],
            format_func=lambda tid: TENSION_BY_ID[tid].numbered,
            key="filter_tensions",
            placeholder="All seven tensions",
        )
        titles = {d["id"]: d["title"] for d in bot.documents()}
        doc_ids = st.multiselect(
            "Documents",
            list(titles),
            format_func=lambda doc_id: titles.get(doc_id, doc_id),
            key="filter_documents",
            placeholder="All documents",
        )
        composer = model_choice(settings)
    return ui.make_filters(tensions, doc_ids), composer


def model_choice(settings: Settings):
    """The sidebar's language model choice, as a composer (None: the offline composer)."""
    default = settings.llm if settings.llm in LLM_BACKENDS else "none"
    backend = st.selectbox(
        "Answers written by",
        LLM_BACKENDS,
        index=LLM_BACKENDS.index(default),
        format_func=ui.backend_label,
        key="llm_backend",
    )
    composer = None
    if backend != "none":
        model = st.text_input(
            "Model",
            value=settings.llm_model or DEFAULT_LLM_MODELS[backend],
            key=f"llm_model_{backend}",
        )
        try:
            composer = get_composer(replace(settings, llm=backend, llm_model=model or None))
        except LbwError as exc:
            st.warning(f"{exc} Answers are composed offline meanwhile.")
        except Exception:
            log.exception("Could not set up the %s language model", backend)
            st.warning("The language model could not be set up; answers are composed offline.")
    if composer is None:
        st.caption(
            "Answers are composed offline from the library, without a chat model. "
            "Every [n] marks a citation you can open to read the passage it rests on."
        )
        st.caption(ui.MODEL_HINT)
    else:
        st.caption(
            "A language model writes the answers from library passages. Every sentence is "
            "checked against the passage it cites before it is shown; when the model fails, "
            "the offline composer answers. Every [n] opens the passage it rests on."
        )
    return composer


def show_starters(bot) -> None:
    """Questions the library answers: from its question index, else the fixed few."""
    st.write("Not sure where to start? Try one of these:")
    for i, question in enumerate(bot.suggested_questions() or ui.starter_questions()):
        st.button(
            ui.escape_markdown(question),
            key=f"starter-{i}",
            on_click=queue_starter,
            args=(question,),
        )


def queue_starter(question: str) -> None:
    st.session_state["starter"] = question


def new_conversation() -> None:
    st.session_state["messages"] = []


def respond(bot, question: str, filters, composer=None, library_page=None) -> None:
    """Answer one question under the conversation so far; keep it only if it succeeded.

    The answer streams in as checked text, then is redrawn whole with its citations (and,
    if the model failed half-way, replaced by the offline composer's answer).
    """
    messages = st.session_state.messages
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        try:
            with st.spinner("Searching the library…"):
                stream = bot.ask_stream(question, ui.history_turns(messages), filters, composer)
            draft = st.empty()
            with draft.container():
                st.write_stream(stream)
            answer = stream.result()
            draft.empty()
        except LbwError as exc:
            st.error(str(exc))
            return
        except Exception:
            log.exception("Could not answer %r", question)
            st.error(GENERIC_ERROR)
            return
        show_answer(answer, key=str(len(messages) + 1), library_page=library_page)
    messages.append({"role": "user", "content": question})
    messages.append({"role": "assistant", "content": answer.answer, "answer": answer})


def show_answer(answer: Answer, key: str, library_page: st.Page | None = None) -> None:
    """The answer's Markdown and, under it, the passages its [n] markers cite; "More from
    the library" (the fuller layout) in an expander holding its own passages."""
    st.markdown(ui.inert_markdown(answer.answer))
    if note := ui.verification_note(answer):
        st.caption(ui.escape_markdown(note))
    used, more = ui.split_citations(answer)
    show_sources(used, key, library_page)
    if answer.more and answer.in_scope:
        with st.expander("More from the library"):
            st.markdown(ui.inert_markdown(answer.more))
            show_sources(more, key, library_page)
    if answer.related:
        st.caption("Related questions the library answers:")
        for i, question in enumerate(answer.related):
            st.button(
                ui.escape_markdown(question),
                key=f"related-{key}-{i}",
                on_click=queue_starter,
                args=(question,),
            )


def show_sources(citations, key: str, library_page: st.Page | None) -> None:
    """One expander per citation, showing its passage as text."""
    for c in citations:
        with st.expander(ui.escape_markdown(ui.citation_label(c))):
            st.caption(ui.escape_markdown(ui.citation_source(c)))
            st.text(c.text)
            if library_page and st.button("Read the whole document", key=f"open-{key}-{c.n}"):
                st.session_state["library_doc"] = c.doc_id
                st.switch_page(library_page)
