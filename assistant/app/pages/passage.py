"""One cited passage in an expander: where it comes from, then its text as plain text.

Shared by the Examples and Survey pages. The passage is looked up by id in the live index;
a passage the index no longer has (the library changed since the catalog was read) is said
so, and a failed lookup is logged and shown as a short message, never as a traceback.
"""

from __future__ import annotations

import logging

import streamlit as st

from assistant.app import view as ui
from assistant.app.example_table import passage_source

log = logging.getLogger("lbw.app.passage")


def show_passage(bot, passage_id: str | None, prefix: str, expanded: bool = False) -> None:
    """An expander labelled '{prefix} Title — Section (pp. x-y)' holding the passage text."""
    try:
        chunk = bot.chunk(passage_id) if passage_id else None
    except Exception:
        log.exception("Could not read passage %r", passage_id)
        st.error("This passage could not be read; the error has been logged.")
        return
    if chunk is None:
        st.caption(ui.escape_markdown(f"{prefix} The passage is not in the current index."))
        return
    # Shorten only the paper's very long title: the TLA blog post's starts the same way.
    label = f"{prefix} {ui.short_title(chunk.title, limit=110)}"
    if chunk.section:
        label += f" — {ui.short_section(chunk.section)}"
    if pages := ui.pages_label(chunk.pages):
        label += f" {pages}"
    with st.expander(ui.escape_markdown(label), expanded=expanded):
        st.caption(ui.escape_markdown(passage_source(chunk)))
        st.text(chunk.text)
