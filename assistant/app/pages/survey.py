"""The Survey page: per tension, a chart of where the surveyed systems lean, with the median
and mean, the top-priority and resources shares, and the text's patterns, each cited.

The chart and the citation list come from `assistant.framework.charts` (pure, unit-tested); this
module only lays them out. Figures are the catalog's (read from the text by ingest); notes
where the sources disagree or a sentence is garbled are shown as they are.
"""

from __future__ import annotations

import logging

import streamlit as st

from assistant.app import view as ui
from assistant.app.pages.passage import show_passage
from assistant.core.domain import TENSION_BY_ID
from assistant.framework.charts import (
    NO_LEAN_SHARES,
    cited_markdown,
    has_lean_shares,
    survey_citations,
    survey_figure,
)

log = logging.getLogger("lbw.app.survey")


def survey_page(bot) -> None:
    """The whole page, for an `Assistant` (or anything with `findings()` and `chunk()`)."""
    st.header("Survey: where systems lean")
    st.caption(
        "In the white paper's survey, school systems rated themselves on each tension from 1 "
        "(the first approach) to 5 (the second). Every figure below is quoted from the text; "
        "open a numbered passage to read it in full."
    )
    found = [f for f in bot.findings() if f.get("tension") in TENSION_BY_ID]
    if not found:
        st.info("The library has no survey findings yet; re-index it to build them.")
        return
    found.sort(key=lambda f: TENSION_BY_ID[f["tension"]].number)
    for i, finding in enumerate(found):
        if i:
            st.divider()
        try:
            show_finding(bot, finding)
        except Exception:
            log.exception("Could not show the survey finding for %r", finding.get("tension"))
            st.error("This tension's figures could not be shown; the error has been logged.")


def show_finding(bot, finding: dict) -> None:
    tension = TENSION_BY_ID[finding["tension"]]
    st.subheader(ui.escape_markdown(tension.numbered))
    st.caption(ui.escape_markdown(tension.question))
    if not has_lean_shares(finding):
        st.markdown(NO_LEAN_SHARES)
    st.plotly_chart(
        survey_figure(finding, tension),
        key=f"survey-chart-{tension.id}",
        config={"displayModeBar": False},
    )
    for note in finding.get("notes") or []:
        st.info(ui.escape_markdown(note))
    cites = survey_citations(finding, tension)
    if cites.figures:
        st.markdown("\n".join(cited_markdown(c) for c in cites.figures))
    if cites.patterns:
        st.markdown("**Which systems lean which way, in the text's words**")
        st.markdown("\n".join(cited_markdown(c) for c in cites.patterns))
    for n, passage_id in enumerate(cites.passages, 1):
        show_passage(bot, passage_id, f"[{n}]")
