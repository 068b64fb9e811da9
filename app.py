"""Look Both Ways Assistant: the Streamlit app, a thin shell over `assistant/`.

    streamlit run app.py        # index from LBW_STORE_DIR, library from LBW_CORPUS_DIR

Pages: Ask (a chat whose answers cite library passages), Examples and Survey (the framework
as data), Chart your path (Reflection Guide 2 and the meeting guide), and Library (the
documents, readable in full; add, retitle and remove your own). Page bodies live in
assistant/pages/. The first start builds the index if there is none.

Answers are composed offline unless a language model is chosen (environment, `.env`,
Streamlit secrets, or the sidebar); a model's answer streams in sentence by sentence, each
checked against the passage it cites, with a note saying which composer answered.

Test seams: the app gets its `Assistant` only from `assistant.app.support.load(settings)`,
called inside the cached `get_assistant`, and the chosen model's composer only from
`app_support.composer(settings)`. Tests patch them (see tests/test_app.py).

Library text is never rendered as HTML: passages and documents are shown with `st.text`,
and labels or captions built from document metadata go through `ui.escape_markdown`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import streamlit as st

from assistant import Answer, LbwError, Settings
from assistant.app import support as app_support
from assistant.app import view as ui
from assistant.core.backends import DEFAULT_LLM_MODELS, LLM_BACKENDS
from assistant.core.domain import TENSION_BY_ID, TENSIONS

log = logging.getLogger("lbw.app")

PLACEHOLDER = "Ask about scaling blended and personalized learning"
GENERIC_ERROR = "Something went wrong on our side; it has been logged. Please try again."


@st.cache_resource(show_spinner=False)
def get_assistant(settings: Settings):
    """One ready Assistant per distinct settings, shared by every browser session."""
    return app_support.load(settings)


@st.cache_resource(show_spinner=False)
def get_composer(settings: Settings):
    """One composer per language model choice, shared by every browser session."""
    return app_support.composer(settings)


def app_settings() -> Settings:
    """Settings from the environment, `.env` and Streamlit secrets (keys stay in memory)."""
    try:
        secrets = st.secrets.to_dict()
    except Exception:  # no secrets file: environment and .env only
        secrets = {}
    return app_support.settings_from(secrets)


def assistant_or_stop(settings: Settings | None = None):
    """The Assistant, or an error message and the end of this run."""
    settings = replace(settings or app_settings(), llm="none", llm_model=None)
    if app_support.needs_index(settings):
        message = "Building the library index (first run)…"
    else:
        message = "Loading the library…"
    try:
        with st.spinner(message):
            return get_assistant(settings)
    except LbwError as exc:
        st.error(str(exc))
    except Exception:
        log.exception("Could not load the assistant")
        st.error("The library could not be loaded; the error has been logged.")
    st.stop()


# -- Ask ---------------------------------------------------------------------------------
def ask_page() -> None:
    settings = app_settings()  # read once per rerun: secrets, .env and the environment
    bot = assistant_or_stop(settings)
    filters, composer = sidebar(bot, settings)
    messages = st.session_state.setdefault("messages", [])
    for i, message in enumerate(messages):
        with st.chat_message(message["role"]):
            if "answer" in message:
                show_answer(message["answer"], key=str(i))
            else:
                st.text(message["content"])

    # st.chat_input is pinned to the bottom of the page wherever it is called.
    if question := st.chat_input(PLACEHOLDER) or st.session_state.pop("starter", None):
        respond(bot, question, filters, composer)
    elif not messages:
        show_starters()


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
    else:
        st.caption(
            "A language model writes the answers from library passages. Every sentence is "
            "checked against the passage it cites before it is shown; when the model fails, "
            "the offline composer answers. Every [n] opens the passage it rests on."
        )
    return composer


def show_starters() -> None:
    st.write("Not sure where to start? Try one of these:")
    for i, question in enumerate(ui.starter_questions()):
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


def respond(bot, question: str, filters, composer=None) -> None:
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
        show_answer(answer, key=str(len(messages) + 1))
    messages.append({"role": "user", "content": question})
    messages.append({"role": "assistant", "content": answer.answer, "answer": answer})


def show_answer(answer: Answer, key: str) -> None:
    """The answer's Markdown, then one expander per citation showing its passage as text."""
    st.markdown(answer.answer)
    if note := ui.verification_note(answer):
        st.caption(ui.escape_markdown(note))
    if not answer.in_scope:
        return
    for c in answer.citations:
        with st.expander(ui.escape_markdown(ui.citation_label(c))):
            st.caption(ui.escape_markdown(ui.citation_source(c)))
            st.text(c.text)
            if st.button("Read the whole document", key=f"open-{key}-{c.n}"):
                st.session_state["library_doc"] = c.doc_id
                st.switch_page(LIBRARY)


# -- Library -----------------------------------------------------------------------------
def library_page() -> None:
    from assistant.app.pages.library import library_page as page

    page(assistant_or_stop())


# -- Framework pages: Examples and Survey (assistant/pages/) -----------------------------
def examples_page() -> None:
    from assistant.app.pages.examples import examples_page as page

    page(assistant_or_stop())


def survey_page() -> None:
    from assistant.app.pages.survey import survey_page as page

    page(assistant_or_stop())


def pathway_page() -> None:
    from assistant.app.pages.pathway import pathway_page as page

    page(assistant_or_stop())


# -- Shell -------------------------------------------------------------------------------
st.set_page_config(page_title="Look Both Ways Assistant", page_icon=":material/traffic:")
ASK = st.Page(ask_page, title="Ask", icon=":material/forum:", default=True)
LIBRARY = st.Page(library_page, title="Library", icon=":material/menu_book:", url_path="library")
EXAMPLES = st.Page(examples_page, title="Examples", icon=":material/school:", url_path="examples")
SURVEY = st.Page(survey_page, title="Survey", icon=":material/bar_chart:", url_path="survey")
PATHWAY = st.Page(pathway_page, title="Chart your path", icon=":material/route:", url_path="path")
page = st.navigation([ASK, EXAMPLES, SURVEY, PATHWAY, LIBRARY])
st.title("Look Both Ways Assistant")
st.caption(
    "Cited answers for school-system leaders from The Learning Accelerator's *Look Both Ways* "
    "library on scaling blended and personalized learning."
)
try:
    page.run()
except Exception:
    log.exception("Page failed")
    st.error(GENERIC_ERROR)
