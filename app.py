"""Look Both Ways Assistant: the Streamlit app, a thin shell over `assistant/`.

    streamlit run app.py        # index from LBW_STORE_DIR, library from LBW_CORPUS_DIR

Pages: Ask (a chat whose answers cite library passages), Examples and Survey (the framework
as data), Chart your path (Reflection Guide 2 and the meeting guide), and Library (the
documents, readable in full; add, retitle and remove your own). Page bodies live in
assistant/app/pages/; this file is the frame and the navigation only. The first start builds the index if there is none.

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

import streamlit as st

from assistant.app.cache import assistant_or_stop
from assistant.app.pages.ask import GENERIC_ERROR, ask_page

log = logging.getLogger("lbw.app")


# -- Pages: each body lives in assistant/app/pages/ -------------------------------------
def ask() -> None:
    ask_page(LIBRARY)


def library_page() -> None:
    from assistant.app.pages.library import library_page as page

    page(assistant_or_stop())


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
# An emoji icon: Streamlit draws it as an inline SVG. A `:material/...:` page icon is fetched
# from fonts.gstatic.com, and the app makes no request beyond 127.0.0.1.
st.set_page_config(page_title="Look Both Ways Assistant", page_icon="🚦")
ASK = st.Page(ask, title="Ask", icon=":material/forum:", default=True)
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
