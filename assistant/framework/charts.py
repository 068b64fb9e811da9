"""One chart per survey finding, and the citations that go with it (no Streamlit here).

`survey_figure` draws, for one tension, three rows: where the surveyed systems lean (the
shares toward each pole, the rest in the middle or not reported), the median and mean on the
1-5 scale with the tension's poles at its ends, and the shares that called the tension a
top-priority challenge and devoted resources to it. Only figures the catalog read from the
text are drawn: a share the text does not give is counted as "not reported", never
estimated; when it gives no lean share at all, the lean row is left out (the page says so in
a line: a full-width bar of "not reported" charts nothing); and a garbled figure is drawn as
both of its readings.

`survey_citations` lists each figure with the verbatim sentence it was read from, each
pattern sentence, and numbers the passages they sit in, so the page can show `[n]` markers
and one expander per passage.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from assistant.core.catalog import Finding
from assistant.core.domain import Tension
from assistant.core.labels import escape_markdown

POLE_A_COLOUR = "#2b6cb0"
POLE_B_COLOUR = "#dd6b20"
MIDDLE_COLOUR = "#cbd5e0"
# The order figures are listed in; any other source the catalog gains is listed after them.
FIGURE_ORDER = (
    "n",
    "median",
    "mean",
    "scale",
    "lean_a",
    "lean_a_blog",
    "lean_b",
    "lean_b_blog",
    "top_priority",
    "devoted_resources",
)


@dataclass(frozen=True)
class Cited:
    """One figure or pattern: what it is, its value, the sentence it is read from, and the
    number of the passage that sentence sits in (None when no passage was found)."""

    label: str
    value: str | None
    quote: str | None
    ref: int | None


@dataclass(frozen=True)
class SurveyCitations:
    figures: list[Cited]
    patterns: list[Cited]
    passages: list[str]  # passage ids; Cited.ref n points at passages[n - 1]


def share(value: float | None) -> str | None:
    return None if value is None else f"{value:.0%}"


def percent(value: float) -> float:
    """A share of 1 as a percentage for an axis (0.58 -> 58.0, not 57.99999999999999)."""
    return round(value * 100, 1)


def _label(field: str, tension: Tension) -> str:
    labels = {
        "n": "Systems surveyed",
        "median": "Median rating",
        "mean": "Mean rating",
        "scale": "The scale",
        "lean_a": f"Lean toward {tension.pole_a}",
        "lean_a_blog": f"Lean toward {tension.pole_a}, as the TLA blog post reports it",
        "lean_b": f"Lean toward {tension.pole_b}",
        "lean_b_blog": f"Lean toward {tension.pole_b}, as the TLA blog post reports it",
        "top_priority": "Called it a top-priority challenge",
        "devoted_resources": "Devoted time or resources to it",
    }
    return labels.get(field, field.replace("_", " ").capitalize())


def _value(field: str, finding: Finding) -> str | None:
    value = finding.get(field)
    if field in ("n", "mean") and value is not None:
        return str(value)
    if field == "median" and value is not None:
        return f"{value} of 5"
    if field == "devoted_resources" and value is None and finding.get("devoted_resources_readings"):
        readings = " or ".join(share(v) for v in finding["devoted_resources_readings"])
        return f"{readings} (the sentence is garbled; see the note)"
    if field in ("lean_a", "lean_b", "top_priority", "devoted_resources"):
        return share(value)
    return None


def survey_citations(finding: Finding, tension: Tension) -> SurveyCitations:
    """The finding's figures and patterns, each with its source sentence and passage number."""
    passages: list[str] = []

    def ref(passage_id: str | None) -> int | None:
        if not passage_id:
            return None
        if passage_id not in passages:
            passages.append(passage_id)
        return passages.index(passage_id) + 1

    sources = finding.get("sources") or {}
    fields = [f for f in FIGURE_ORDER if f in sources or finding.get(f) is not None]
    fields += [f for f in sources if f not in FIGURE_ORDER]
    figures = []
    for field in fields:
        source = sources.get(field) or {}
        value = _value(field, finding)
        if value is None and not source:
            continue
        figures.append(
            Cited(_label(field, tension), value, source.get("text"), ref(source.get("passage_id")))
        )
    pattern_ids = list(finding.get("pattern_passage_ids") or [])
    patterns = []
    for i, sentence in enumerate(finding.get("patterns") or []):
        passage_id = pattern_ids[i] if i < len(pattern_ids) else None
        patterns.append(Cited("", None, sentence, ref(passage_id)))
    return SurveyCitations(figures, patterns, passages)


def cited_markdown(item: Cited) -> str:
    """A Markdown list item for a figure or pattern; every library word escaped."""
    parts = []
    if item.label:
        parts.append(f"**{escape_markdown(item.label)}:**")
    if item.value:
        parts.append(escape_markdown(item.value))
    if item.quote:
        quote = escape_markdown(item.quote)
        parts.append(f"— “{quote}”" if item.value else f"“{quote}”" if item.label else quote)
    if item.ref is not None:
        parts.append(f"\\[{item.ref}\\]")
    return "- " + " ".join(parts)


NO_LEAN_SHARES = (
    "The text gives no shares of systems leaning toward either approach on this tension, so "
    "no chart of them is drawn."
)


def has_lean_shares(finding: Finding) -> bool:
    """Whether the text gives a share leaning toward either pole (else the lean row is
    left out and the page says so in a line, rather than drawing a bar of nothing)."""
    return finding.get("lean_a") is not None or finding.get("lean_b") is not None


def survey_figure(finding: Finding, tension: Tension) -> go.Figure:
    """The chart of one finding (see the module docstring). Each trace's `meta` names the
    catalog field it draws ("lean_a", "middle", "median", ...). Without lean shares the
    chart has two rows: the scale, and priority and resources."""
    rows = [
        (_lean_row, "Where systems lean (share of systems)"),
        (_scale_row, "Self-rating from 1 to 5: median and mean"),
        (_priority_row, "Priority and resources (share of systems)"),
    ][0 if has_lean_shares(finding) else 1 :]
    fig = make_subplots(
        rows=len(rows),
        cols=1,
        vertical_spacing=0.2,
        subplot_titles=[title for _, title in rows],
    )
    for row, (draw, _) in enumerate(rows, start=1):
        draw(fig, finding, tension, row)
    fig.update_layout(
        barmode="stack",
        height=140 * len(rows),
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.12, "x": 0},
        showlegend=True,
    )
    return fig


def _lean_row(fig: go.Figure, finding: Finding, tension: Tension, row: int) -> None:
    a, b = finding.get("lean_a"), finding.get("lean_b")
    known = [v for v in (a, b) if v is not None]
    middle = max(0.0, 1.0 - sum(known))
    middle_name = "In the middle" if len(known) == 2 else "In the middle or not reported"
    segments = [
        ("lean_a", tension.pole_a, a, POLE_A_COLOUR),
        ("middle", middle_name, middle, MIDDLE_COLOUR),
        ("lean_b", tension.pole_b, b, POLE_B_COLOUR),
    ]
    for field, name, value, colour in segments:
        if value is None:
            continue
        fig.add_trace(
            go.Bar(
                x=[percent(value)],
                y=["Systems"],
                orientation="h",
                name=name,
                meta=field,
                marker_color=colour,
                text=[share(value)],
                textposition="inside",
                hovertemplate=f"{name}: %{{x}}%<extra></extra>",
            ),
            row=row,
            col=1,
        )
    fig.update_xaxes(range=[0, 100], ticksuffix="%", row=row, col=1)
    fig.update_yaxes(visible=False, row=row, col=1)


def _scale_row(fig: go.Figure, finding: Finding, tension: Tension, row: int) -> None:
    fig.add_trace(
        go.Scatter(
            x=[1, 5],
            y=[0, 0],
            mode="lines",
            line={"color": MIDDLE_COLOUR, "width": 6},
            hoverinfo="skip",
            showlegend=False,
            meta="scale",
        ),
        row=row,
        col=1,
    )
    markers = (
        ("median", "Median", "diamond", "top center"),
        ("mean", "Mean", "circle", "bottom center"),
    )
    for field, word, symbol, position in markers:
        value = finding.get(field)
        if value is None:
            continue
        fig.add_trace(
            go.Scatter(
                x=[value],
                y=[0],
                mode="markers+text",
                name=f"{word} {value}",
                meta=field,
                marker={"symbol": symbol, "size": 16, "color": "#1a202c"},
                text=[f"{word} {value}"],
                textposition=position,
                hovertemplate=f"{word}: %{{x}}<extra></extra>",
            ),
            row=row,
            col=1,
        )
    fig.update_xaxes(
        range=[0.3, 5.7],
        tickvals=[1, 2, 3, 4, 5],
        ticktext=[f"1 {tension.pole_a}", "2", "3", "4", f"5 {tension.pole_b}"],
        row=row,
        col=1,
    )
    fig.update_yaxes(visible=False, range=[-1, 1], row=row, col=1)


def _priority_row(fig: go.Figure, finding: Finding, tension: Tension, row: int) -> None:
    bars = [
        (field, label, finding.get(field))
        for field, label in (
            ("top_priority", "Top priority"),
            ("devoted_resources", "Devoted resources"),
        )
        if finding.get(field) is not None
    ]
    if bars:
        fig.add_trace(
            go.Bar(
                x=[percent(v) for _, _, v in bars],
                y=[label for _, label, _ in bars],
                orientation="h",
                name="Share of systems",
                meta=[field for field, _, _ in bars],
                marker_color="#4a5568",
                text=[share(v) for _, _, v in bars],
                textposition="inside",
                showlegend=False,
                hovertemplate="%{y}: %{x}%<extra></extra>",
            ),
            row=row,
            col=1,
        )
    readings = finding.get("devoted_resources_readings") or []
    if finding.get("devoted_resources") is None and readings:
        fig.add_trace(
            go.Scatter(
                x=[percent(v) for v in readings],
                y=["Devoted resources"] * len(readings),
                mode="markers+text",
                name="Devoted resources: the text gives "
                + " and ".join(share(v) for v in readings),
                meta="devoted_resources_readings",
                marker={"symbol": "x", "size": 12, "color": "#4a5568"},
                text=[f"{share(v)}?" for v in readings],
                textposition="top center",
                showlegend=False,
            ),
            row=row,
            col=1,
        )
    fig.update_xaxes(range=[0, 100], ticksuffix="%", row=row, col=1)
