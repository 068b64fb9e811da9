"""Reflection Guide 2 as data: pathways across the seven tensions, read from a team's CSV,
compared with each other and with the survey, and drawn (plotly for the app, a matplotlib PNG
for exported guides).

A pathway is where one person puts the system now and where they want it, on each tension's
1-5 spectrum (1 = pole A, 5 = pole B, as the survey scale). The CSV has one row per person:
`name`, then `<tension>_now` and `<tension>_want` for the seven tension ids. Bad files are
refused with every problem listed by row (the header is row 1, as a spreadsheet numbers it).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.domain import TENSIONS
from assistant.core.errors import LbwError
from assistant.core.inputs import MAX_SMALL_FILE_BYTES, read_input_bytes

LOW, HIGH = 1, 5
MAX_PEOPLE = 50
MAX_ERRORS = 10
TENSION_IDS = tuple(t.id for t in TENSIONS)
COLUMNS = ("name", *(f"{tid}_{when}" for tid in TENSION_IDS for when in ("now", "want")))


class InvalidPathway(LbwError):
    exit_code = 2


@dataclass(frozen=True)
class Pathway:
    """One person's marks: tension id -> 1..5, now and wanted."""

    name: str
    now: Mapping[str, int]
    want: Mapping[str, int]

    def gap(self, tension: str) -> int:
        """Signed: positive means they want to move toward pole B."""
        return self.want[tension] - self.now[tension]


@dataclass(frozen=True)
class TensionSummary:
    tension: str
    now: float  # team mean
    want: float
    gap: float  # want - now, team means
    spread: float  # mean of the now and want standard deviations (0 = everyone agrees)
    people: int


def csv_template() -> str:
    """The header and one example row, for people to copy and fill in."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(["Your name", *([3] * (len(COLUMNS) - 1))])
    return out.getvalue()


def to_csv(pathways: Sequence[Pathway]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in pathways:
        writer.writerow([p.name, *(v for tid in TENSION_IDS for v in (p.now[tid], p.want[tid]))])
    return out.getvalue()


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise InvalidPathway(
            f"Row {row} of {source} is not UTF-8 text (byte 0x{data[exc.start]:02X} at byte "
            f"{exc.start + 1}). Save the file as “CSV UTF-8” and try again."
        ) from exc


def _value(raw: str | None, column: str, where: str, errors: list[str]) -> int | None:
    text = (raw or "").strip()
    if not text:
        errors.append(f"{where}: {column} is empty; enter a whole number from {LOW} to {HIGH}.")
        return None
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is None or number != int(number) or not LOW <= number <= HIGH:
        errors.append(f"{where}: {column} is {text!r}; enter a whole number from {LOW} to {HIGH}.")
        return None
    return int(number)


def parse_pathways(data: bytes | str, source: str = "the file") -> list[Pathway]:
    """Pathways from CSV bytes; InvalidPathway lists the problems, each naming its row."""
    text = _decode(data, source) if isinstance(data, bytes) else data
    if not text.strip():
        raise InvalidPathway(f"{source} is empty; download the template and fill in one row each.")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        shown = ", ".join(missing[:6]) + (
            f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        )
        raise InvalidPathway(
            f"Row 1 of {source} (the header) is missing column(s): {shown}. "
            "Download the template to see the expected columns."
        )
    index = {name: header.index(name) for name in COLUMNS}
    errors: list[str] = []
    pathways: list[Pathway] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            errors.append(
                f"Row {number} has {len(row)} values but the header has {len(header)} columns."
            )
            continue
        row = row + [""] * (len(header) - len(row))
        name = row[index["name"]].strip()
        where = f"Row {number}" + (f" ({name})" if name else "")
        if not name:
            errors.append(f"Row {number}: the name is empty.")
        elif name.lower() in seen:
            errors.append(f"{where}: the name is already used on row {seen[name.lower()]}.")
        else:
            seen[name.lower()] = number
        marks = {c: _value(row[index[c]], c, where, errors) for c in COLUMNS[1:]}
        if name and None not in marks.values():
            pathways.append(
                Pathway(
                    name,
                    {tid: marks[f"{tid}_now"] for tid in TENSION_IDS},
                    {tid: marks[f"{tid}_want"] for tid in TENSION_IDS},
                )
            )
    if errors:
        more = len(errors) - MAX_ERRORS
        lines = errors[:MAX_ERRORS] + ([f"… and {more} more."] if more > 0 else [])
        raise InvalidPathway(f"{source} has problems:\n" + "\n".join(lines))
    if not pathways:
        raise InvalidPathway(f"{source} has a header but no pathways; add one row per person.")
    if len(pathways) > MAX_PEOPLE:
        raise InvalidPathway(f"{source} has {len(pathways)} pathways; the limit is {MAX_PEOPLE}.")
    return pathways


def read_pathways(path: str | Path) -> list[Pathway]:
    """A --pathway CSV: a small regular file (the checked reader's cap)."""
    data = read_input_bytes(path, "pathway file", MAX_SMALL_FILE_BYTES, InvalidPathway)
    return parse_pathways(data, f"the pathway file {Path(path).name}")


def summarize(pathways: Sequence[Pathway]) -> list[TensionSummary]:
    """Per tension: the team's mean marks, the gap between them, and how far people differ."""
    out = []
    for tid in TENSION_IDS:
        now = [p.now[tid] for p in pathways]
        want = [p.want[tid] for p in pathways]
        spread = (
            (statistics.pstdev(now) + statistics.pstdev(want)) / 2 if len(pathways) > 1 else 0.0
        )
        mean_now, mean_want = statistics.fmean(now), statistics.fmean(want)
        out.append(
            TensionSummary(tid, mean_now, mean_want, mean_want - mean_now, spread, len(pathways))
        )
    return out


def widest_gaps(pathways: Sequence[Pathway], n: int = 3) -> list[TensionSummary]:
    """The tensions where (the team's) wanted position is furthest from now; ties in order."""
    ranked = sorted(summarize(pathways), key=lambda s: -abs(s.gap))
    return [s for s in ranked[:n] if s.gap]


def agreement(pathways: Sequence[Pathway]) -> tuple[TensionSummary, TensionSummary]:
    """(most agreed, least agreed) tensions by the spread of people's marks."""
    ranked = sorted(summarize(pathways), key=lambda s: s.spread)
    return ranked[0], ranked[-1]


def survey_marks(findings: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """tension -> {"median", "mean"} from the catalog's findings."""
    return {
        f["tension"]: {k: f[k] for k in ("median", "mean") if f.get(k) is not None}
        for f in findings
    }


# -- drawing --------------------------------------------------------------------------------
# The two pathways as both charts draw them: (mark, plotly dash, matplotlib style, colour, label).
_SERIES = (
    ("now", "solid", "o-", "#1f77b4", "where we are"),
    ("want", "dash", "o--", "#d62728", "where we want to be"),
)


def _rows() -> list[str]:
    return [f"{t.number}. {t.pole_a} ↔ {t.pole_b}" for t in TENSIONS]


def figure(pathways: Sequence[Pathway], findings: Sequence[Mapping[str, Any]] = ()):
    """A plotly figure: one row per tension, 1 (pole A) to 5 (pole B) across; now and wanted
    pathways (each person's, thin, when there are several; the team's mean, bold), and the
    survey's median and mean. The widest gaps' rows are marked ▶ in bold."""
    import plotly.graph_objects as go

    wide = {s.tension for s in widest_gaps(pathways)} if pathways else set()
    labels = [
        f"<b>▶ {label}</b>" if tid in wide else label
        for tid, label in zip(TENSION_IDS, _rows(), strict=True)
    ]
    fig = go.Figure()
    team = len(pathways) > 1
    if team:
        for p in pathways:
            for when, dash in (("now", "solid"), ("want", "dash")):
                marks = p.now if when == "now" else p.want
                fig.add_trace(
                    go.Scatter(
                        x=[marks[t] for t in TENSION_IDS],
                        y=labels,
                        mode="lines",
                        line={"width": 1, "dash": dash},
                        opacity=0.35,
                        name=f"{p.name} ({when})",
                        legendgroup=p.name,
                        showlegend=False,
                    )
                )
    summary = summarize(pathways) if pathways else []
    for when, dash, _style, colour, label in _SERIES:
        if not summary:
            break
        fig.add_trace(
            go.Scatter(
                x=[getattr(s, when) for s in summary],
                y=labels,
                mode="lines+markers",
                line={"width": 3, "dash": dash, "color": colour},
                marker={"size": 10},
                name=("Team mean: " if team else "") + label,
            )
        )
    marks = survey_marks(findings)
    for key, symbol in (("median", "diamond"), ("mean", "x")):
        xs = [marks.get(t, {}).get(key) for t in TENSION_IDS]
        if any(x is not None for x in xs):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=labels,
                    mode="markers",
                    marker={"symbol": symbol, "size": 11, "color": "#555"},
                    name=f"Survey {key}",
                )
            )
    fig.update_xaxes(
        range=[0.8, 5.2], tickvals=[1, 2, 3, 4, 5], title="1 = left pole, 5 = right pole"
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        height=460, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"}
    )
    return fig


def chart_png(pathways: Sequence[Pathway], findings: Sequence[Mapping[str, Any]] = ()) -> bytes:
    """The same chart as a PNG (matplotlib; no browser needed) for DOCX, PDF and Markdown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = _rows()
    ys = list(range(len(labels)))
    fig, ax = plt.subplots(figsize=(8, 4.6), dpi=120)
    try:
        team = len(pathways) > 1
        if team:
            for p in pathways:
                ax.plot([p.now[t] for t in TENSION_IDS], ys, color="#1f77b4", lw=0.8, alpha=0.3)
                ax.plot(
                    [p.want[t] for t in TENSION_IDS],
                    ys,
                    color="#d62728",
                    lw=0.8,
                    alpha=0.3,
                    ls="--",
                )
        summary = summarize(pathways) if pathways else []
        prefix = "Team mean: " if team else ""
        if summary:
            for when, _dash, style, colour, label in _SERIES:
                ax.plot(
                    [getattr(s, when) for s in summary],
                    ys,
                    style,
                    color=colour,
                    lw=2.5,
                    label=f"{prefix}{label}",
                )
        marks = survey_marks(findings)
        for key, symbol in (("median", "D"), ("mean", "x")):
            pts = [
                (marks[t][key], y)
                for t, y in zip(TENSION_IDS, ys, strict=True)
                if key in marks.get(t, {})
            ]
            if pts:
                ax.scatter(
                    *zip(*pts, strict=True),
                    marker=symbol,
                    color="#555",
                    s=40,
                    zorder=3,
                    label=f"Survey {key}",
                )
        ax.set_yticks(ys, labels, fontsize=8)
        wide = {s.tension for s in widest_gaps(pathways)} if pathways else set()
        for tick, tid in zip(ax.get_yticklabels(), TENSION_IDS, strict=True):
            if tid in wide:
                tick.set_fontweight("bold")
                tick.set_color("#d62728")
        ax.invert_yaxis()
        ax.set_xlim(0.8, 5.2)
        ax.set_xticks([1, 2, 3, 4, 5])
        ax.set_xlabel("1 = left pole, 5 = right pole", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(
            fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, frameon=False
        )
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()
    finally:
        plt.close(fig)
