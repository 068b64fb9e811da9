"""The Examples page: the white paper's district stories as a filterable, searchable table.

Picking a row opens the story, its quote and the passage it is cited from. The filtering
and search rules live in `assistant.app.example_table` (pure, unit-tested). Library text
(titles, quotes, stories, passages) is shown with `st.text` or escaped, never as HTML.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assistant.app import view as ui
from assistant.app.example_table import (
    COLUMNS,
    byline,
    facets,
    filter_examples,
    rows,
    search_examples,
    side_label,
    table_key,
    tension_label,
)
from assistant.app.pages.passage import show_passage
from assistant.core.catalog import SIDES
from assistant.core.domain import TENSIONS

GENERIC_SIDES = {"a": "First approach (A)", "b": "Second approach (B)", "combine": "Combining both"}


def examples_page(bot) -> None:
    """The whole page, for an `Assistant` (or anything with `examples()` and `chunk()`)."""
    st.header("District examples")
    st.caption(
        "How the school systems in *Look Both Ways* handled each tension, in their leaders' "
        "words. Filter or search, then pick a row to read the story and its source."
    )
    records = bot.examples()
    if not records:
        st.info("The library has no district examples yet; re-index it to build them.")
        return
    query = st.text_input(
        "Search", key="ex_search", placeholder="A district, a leader, or words from a story"
    )
    options = facets(records)
    col_tension, col_side, col_state, col_system = st.columns(4)
    tensions = col_tension.multiselect(
        "Tension",
        [t.id for t in TENSIONS],
        format_func=tension_label,
        key="ex_tensions",
        placeholder="All",
    )

    def side_name(side: str) -> str:
        if len(tensions) == 1:
            return side_label(tensions[0], side)
        return GENERIC_SIDES.get(side, side)

    sides = col_side.multiselect(
        "Side", list(SIDES), format_func=side_name, key="ex_sides", placeholder="All"
    )
    states = col_state.multiselect("State", options["states"], key="ex_states", placeholder="All")
    systems = col_system.multiselect(
        "System", options["systems"], key="ex_systems", placeholder="All"
    )
    shown = search_examples(filter_examples(records, tensions, sides, states, systems), query)
    st.caption(f"{len(shown)} of {len(records)} examples")
    if not shown:
        st.info("No example matches; clear a filter or change the search.")
        return
    event = st.dataframe(
        pd.DataFrame(rows(shown), columns=list(COLUMNS)),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=table_key(shown),
    )
    picked = list(event.selection.rows) if event else []
    if picked and 0 <= picked[0] < len(shown):
        show_example(bot, shown[picked[0]])
    else:
        st.caption("Pick a row to read the story, its quote and the passage it comes from.")


def show_example(bot, record: dict) -> None:
    """One example in full: title, where it sits in the framework, who said it, the quote,
    the story, and the passage it is cited from."""
    st.subheader(ui.escape_markdown(record.get("title") or "Example"))
    place = f"{tension_label(record['tension'])} · {side_label(record['tension'], record['side'])}"
    st.caption(ui.escape_markdown(place))
    if who := byline(record):
        st.caption(ui.escape_markdown(who))
    if record.get("quote"):
        st.text(record["quote"])
    if record.get("text"):
        st.text(record["text"])
    show_passage(bot, record.get("passage_id"), "Source passage:", expanded=True)
