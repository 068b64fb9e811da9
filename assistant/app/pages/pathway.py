"""The "Chart your path" page: Reflection Guide 2, interactive.

Seven sliders for where the system is now and seven for where it wants to be, drawn as two
pathways across the tensions beside the survey's median and mean; the widest gaps, with the
paper's examples from the side the team wants to move toward and discussion prompts. Team mode
gathers several people's pathways (added here, uploaded or pasted as CSV) and shows where they
agree most and least, with Reflection Guide 2's questions. The meeting guide downloads as
Markdown, DOCX or PDF.

Everything comes from the Assistant (`catalog()`, `chunks()`), so AppTest drives the page with
a fake. Library text is shown with `st.text`, or escaped where Markdown renders it.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from assistant.app import view as ui
from assistant.core.catalog import examples as catalog_examples
from assistant.core.domain import TENSION_BY_ID, TENSIONS
from assistant.core.errors import LbwError
from assistant.framework.discussion import (
    LOCALES,
    SYSTEM_TYPES,
    Context,
    Prompt,
    Sources,
    discussion_prompts,
)
from assistant.framework.pathway import (
    TENSION_IDS,
    InvalidPathway,
    Pathway,
    agreement,
    csv_template,
    figure,
    parse_pathways,
    to_csv,
    widest_gaps,
)

log = logging.getLogger("lbw.app.pathway")
TEAM = "pathway_team"
GUIDE = "pathway_guide"
DEFAULT = 3


def pathway_page(bot) -> None:
    st.header("Chart your path")
    st.caption(
        "Reflection Guide 2 of *Look Both Ways*: mark where your system sits on each of the "
        "seven spectrums now (1 is the left pole, 5 the right), then where you want it to be, "
        "and talk about the gaps."
    )
    catalog, chunks = bot.catalog(), bot.chunks()
    findings = catalog.get("findings", [])
    context = context_form()
    mine, team_tab = st.tabs(["My pathway", "Team"])
    with mine:
        me = Pathway("Me", *sliders())
        st.plotly_chart(figure([me], findings), key="chart-me")
        show_gaps([me], catalog, chunks, context, key="me")
    with team_tab:
        team = team_section(me)
        if team:
            st.plotly_chart(figure(team, findings), key="chart-team")
            show_agreement(team, catalog, chunks)
            show_gaps(team, catalog, chunks, context, key="team")
    guide_section(catalog, chunks, context, team or [me])


def sliders() -> tuple[dict[str, int], dict[str, int]]:
    now, want = {}, {}
    for t in TENSIONS:
        st.markdown(f"**{t.number}. {ui.escape_markdown(t.question)}**")
        left, right = st.columns(2)
        label = f"{t.pole_a} (1) ↔ {t.pole_b} (5)"
        now[t.id] = left.slider(f"Now: {label}", 1, 5, DEFAULT, key=f"now-{t.id}")
        want[t.id] = right.slider(f"Want: {label}", 1, 5, DEFAULT, key=f"want-{t.id}")
    return now, want


def context_form() -> Context | None:
    """Optional facts about the system that tailor the prompts; None when left empty."""
    with st.expander("About your system (optional: tailors the prompts)"):
        kind = st.selectbox("System type", ["", *SYSTEM_TYPES], key="ctx-type")
        locale = st.selectbox("Setting", ["", *LOCALES], key="ctx-locale")
        schools = st.number_input("Schools", 0, 100_000, 0, key="ctx-schools")
        frl = st.number_input(
            "Share of students qualifying for free and reduced lunch (%)", 0, 100, 0, key="ctx-frl"
        )
        years = st.number_input("Years scaling", 0.0, 100.0, 0.0, key="ctx-years")
        note = st.text_area("A note about your system", key="ctx-note", max_chars=2000)
    ctx = Context(
        system_type=kind or None,
        schools=int(schools) or None,
        locale=locale or None,
        frl_share=frl / 100 if frl else None,
        years_scaling=years or None,
        note=note.strip(),
    )
    return None if ctx.is_empty() else ctx


def show_gaps(pathways, catalog, chunks, context, key: str) -> None:
    gaps = widest_gaps(pathways)
    if not gaps:
        st.info("Move the “Want” sliders to see the gaps between now and where you want to be.")
        return
    st.subheader("The widest gaps")
    for s in gaps:
        t = TENSION_BY_ID[s.tension]
        toward = t.pole_b if s.gap > 0 else t.pole_a
        st.markdown(
            f"- **{t.number}. {ui.escape_markdown(t.label)}**: now {s.now:.1f}, want "
            f"{s.want:.1f} (gap {abs(s.gap):.1f} toward {ui.escape_markdown(toward)})"
        )
    widest = gaps[0]
    t = TENSION_BY_ID[widest.tension]
    side = "b" if widest.gap > 0 else "a"
    st.markdown(
        f"**Systems on the other side: {ui.escape_markdown(t.side_label(side))}** "
        f"({t.number}. {ui.escape_markdown(t.label)})"
    )
    sources = Sources(chunks)
    for e in catalog_examples(catalog, t.id, side):
        chunk = sources.find([e["title"]], [e.get("passage_id")])
        label = f"{e['system']}: {e['title']}"
        with st.expander(ui.escape_markdown(label)):
            if e.get("quote"):
                st.text(f"{e['quote']} ({e.get('leader') or ''})")
            if chunk is not None:
                c = sources.cite(chunk)
                st.caption(ui.escape_markdown(ui.citation_source(c)))
                st.text(chunk.text)
    st.markdown("**Prompts for the team**")
    show_prompts(discussion_prompts(catalog, chunks, [t.id], context), key=f"{key}-{t.id}")


def show_prompts(prompts: list[Prompt], key: str) -> None:
    for i, p in enumerate(prompts):
        st.markdown(f"{i + 1}. {ui.escape_markdown(p.text)}")
        st.caption(ui.escape_markdown(f"{p.kind}: {p.why}"))
        for c in p.citations:
            with st.expander(ui.escape_markdown(ui.citation_label(c))):
                st.caption(ui.escape_markdown(ui.citation_source(c)))
                st.text(c.text)


def team_section(me: Pathway) -> list[Pathway]:
    team: list[Pathway] = st.session_state.setdefault(TEAM, [])
    st.caption(
        "Gather everyone's pathway: add yours from the sliders under a name, upload a CSV, or "
        "paste one (download the template for the columns)."
    )
    st.download_button(
        "Download the CSV template",
        csv_template(),
        file_name="pathways-template.csv",
        mime="text/csv",
        key="template",
    )
    name = st.text_input("Your name", key="team-name")
    if st.button("Add my pathway to the team", key="team-add"):
        if not name.strip():
            st.error("Enter a name first.")
        elif any(p.name.lower() == name.strip().lower() for p in team):
            st.error(f"{ui.escape_markdown(name.strip())} is already in the team.")
        else:
            team.append(Pathway(name.strip(), dict(me.now), dict(me.want)))
    upload = st.file_uploader("Upload pathways (CSV)", type=["csv"], key="team-upload")
    pasted = st.text_area("…or paste CSV", key="team-paste")
    if st.button("Read the CSV", key="team-read"):
        data = upload.getvalue() if upload is not None else pasted.encode("utf-8")
        source = upload.name if upload is not None else "the pasted CSV"
        try:
            read = parse_pathways(data, source)
        except InvalidPathway as exc:
            st.error(ui.escape_markdown(str(exc)).replace("\n", "  \n"))
        else:
            names = {p.name.lower() for p in team}
            team.extend(p for p in read if p.name.lower() not in names)
            st.success(f"Read {len(read)} pathway(s).")
    if team:
        st.dataframe(
            [
                {
                    "name": p.name,
                    **{f"{tid} now/want": f"{p.now[tid]}/{p.want[tid]}" for tid in TENSION_IDS},
                }
                for p in team
            ],
            key="team-table",
        )
        st.download_button(
            "Download the team's pathways (CSV)",
            to_csv(team),
            file_name="pathways.csv",
            mime="text/csv",
            key="team-csv",
        )
        if st.button("Clear the team", key="team-clear"):
            team.clear()
            st.rerun()
    return list(team)


def show_agreement(team: list[Pathway], catalog, chunks) -> None:
    if len(team) < 2:
        st.info("Add at least two pathways to compare.")
        return
    most, least = agreement(team)
    st.subheader("Where the team agrees")
    for word, s in (("most", most), ("least", least)):
        t = TENSION_BY_ID[s.tension]
        st.markdown(
            f"- Agree {word}: **{t.number}. {ui.escape_markdown(t.label)}** (spread {s.spread:.1f})"
        )
    sources = Sources(chunks)
    prompts = []
    for q in catalog.get("questions", []):
        if q.get("source") == "guide-2" and (
            chunk := sources.find([q["text"]], [q.get("passage_id")])
        ):
            prompts.append(
                Prompt(q["text"], "from-library", None, "Reflection Guide 2", [sources.cite(chunk)])
            )
    st.markdown("**Questions for this discussion (Reflection Guide 2)**")
    show_prompts(prompts, key="guide2")


def guide_section(catalog, chunks, context, pathways: list[Pathway]) -> None:
    from assistant.framework import guide

    st.subheader("Meeting guide")
    st.caption(
        "Purpose, a timed agenda, the widest-gap tensions with examples and prompts, the "
        "pathway chart and gaps, every quote cited by document, section and pages."
    )
    if st.button("Prepare the meeting guide", key="guide-build"):
        try:
            with st.spinner("Writing the guide…"):
                meeting = guide.build_guide(catalog, chunks, None, context, pathways)
                st.session_state[GUIDE] = {
                    fmt: guide.render(meeting, fmt) for fmt in ("md", "docx", "pdf")
                }
        except LbwError as exc:
            st.error(ui.escape_markdown(str(exc)))
        except Exception:
            log.exception("Could not build the meeting guide")
            st.error("The guide could not be written; the error has been logged.")
    files: dict[str, Any] | None = st.session_state.get(GUIDE)
    if files:
        cols = st.columns(3)
        for col, (fmt, mime) in zip(
            cols,
            (
                ("md", "text/markdown"),
                ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                ("pdf", "application/pdf"),
            ),
            strict=True,
        ):
            col.download_button(
                f"Download .{fmt}",
                files[fmt],
                file_name=f"look-both-ways-guide.{fmt}",
                mime=mime,
                key=f"guide-{fmt}",
            )
