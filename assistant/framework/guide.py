"""The facilitation guide: a meeting plan for a leadership team, as Markdown, DOCX or PDF.

Purpose, an agenda with timings, the tensions chosen, the paper's examples on each side,
the discussion prompts (assistant.framework.discussion), Reflection Guide 2's questions, the pathway
chart and the team's gaps. Everything quoted is cited [n] and listed under Sources by
document, section and pages. One `MeetingGuide` is built, then written by one small function
per format (python-docx for DOCX, reportlab for PDF, the chart from matplotlib).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.catalog import check_tension
from assistant.core.catalog import examples as catalog_examples
from assistant.core.domain import TENSION_BY_ID, TENSIONS
from assistant.core.errors import LbwError
from assistant.core.types import Chunk, Citation
from assistant.framework.discussion import Context, Prompt, Sources, discussion_prompts, rules
from assistant.framework.pathway import (
    Pathway,
    TensionSummary,
    agreement,
    chart_png,
    summarize,
    widest_gaps,
)

FORMATS = {".md": "md", ".markdown": "md", ".docx": "docx", ".pdf": "pdf"}
TITLE = "Look Both Ways: team discussion guide"


class InvalidOutput(LbwError):
    exit_code = 2


@dataclass
class ExampleRef:
    tension: str
    side: str
    system: str
    state: str | None
    title: str
    quote: str | None
    citation: Citation


@dataclass
class MeetingGuide:
    purpose: str
    tensions: list[str]
    agenda: list[tuple[str, int]]
    examples: list[ExampleRef]
    prompts: list[Prompt]
    pathway_questions: list[Prompt]
    sources: Sources
    context: Context | None = None
    team: list[Pathway] = field(default_factory=list)
    summary: list[TensionSummary] = field(default_factory=list)
    chart: bytes | None = None

    @property
    def minutes(self) -> int:
        return sum(m for _, m in self.agenda)


def format_for(path: str | Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InvalidOutput(f"Cannot tell the format of {path}: name it .md, .docx or .pdf.")
    return fmt


def choose_tensions(tensions: Sequence[str] | None, team: Sequence[Pathway]) -> list[str]:
    """The ones asked for; else the team's three widest gaps; else all seven."""
    if tensions:
        for tid in tensions:
            check_tension(tid)
        return list(dict.fromkeys(tensions))
    if team and (gaps := widest_gaps(team)):
        return [s.tension for s in gaps]
    return [t.id for t in TENSIONS]


def build_guide(
    catalog: Mapping[str, Any],
    chunks: Mapping[str, Chunk],
    tensions: Sequence[str] | None = None,
    context: Context | None = None,
    team: Sequence[Pathway] | None = None,
) -> MeetingGuide:
    team = list(team or [])
    chosen = choose_tensions(tensions, team)
    sources = Sources(chunks)
    spec = rules()["guide"]
    agenda = [(item, minutes) for item, minutes in spec["agenda_open"]]
    agenda += [(f"Discuss {TENSION_BY_ID[tid].numbered}", spec["per_tension"]) for tid in chosen]
    agenda += [(item, minutes) for item, minutes in spec["agenda_close"]]

    examples: list[ExampleRef] = []
    prompts: list[Prompt] = []
    for tid in chosen:  # in reading order, so citation numbers rise through the guide
        for side in ("a", "b", "combine"):
            for e in catalog_examples(catalog, tid, side):
                chunk = sources.find([e["title"], e.get("quote") or ""], [e.get("passage_id")])
                if chunk is not None:
                    examples.append(
                        ExampleRef(
                            tid,
                            side,
                            e["system"],
                            e.get("state"),
                            e["title"],
                            e.get("quote"),
                            sources.cite(chunk),
                        )
                    )
                    break
        prompts += discussion_prompts(catalog, chunks, [tid], context, sources=sources)
    pathway_questions = []
    for q in catalog.get("questions", []):
        if q.get("source") != "guide-2":
            continue
        chunk = sources.find([q["text"]], [q.get("passage_id")])
        if chunk is not None:
            pathway_questions.append(
                Prompt(
                    q["text"],
                    "from-library",
                    None,
                    "Reflection Guide 2",
                    [sources.cite(chunk)],
                    quotes=[q["text"]],
                )
            )
    findings = catalog.get("findings", [])
    return MeetingGuide(
        purpose=spec["purpose"],
        tensions=chosen,
        agenda=agenda,
        examples=examples,
        prompts=prompts,
        pathway_questions=pathway_questions,
        sources=sources,
        context=context,
        team=team,
        summary=summarize(team) if team else [],
        chart=chart_png(team, findings) if team else None,
    )


# -- shared wording --------------------------------------------------------------------------
def source_line(c: Citation) -> str:
    """'[3] Look Both Ways: … — Question 3 … > Why Prioritize Need?, pp. 20-24'."""
    pages = ""
    if c.pages:
        pages = f", {'pp.' if '-' in c.pages else 'p.'} {c.pages}"
    return f"[{c.n}] {c.title} — {c.section}{pages}"


def example_line(e: ExampleRef) -> str:
    t = TENSION_BY_ID[e.tension]
    state = f", {e.state}" if e.state else ""
    quote = f" {e.quote}" if e.quote else ""
    return f"{t.side_label(e.side)}: {e.system}{state}, “{e.title}”.{quote} [{e.citation.n}]"


def gap_rows(guide: MeetingGuide) -> list[list[str]]:
    if not guide.summary:
        return []
    most, least = agreement(guide.team)
    rows = [["Tension", "Now", "Want", "Gap", "Spread"]]
    for s in sorted(guide.summary, key=lambda s: -abs(s.gap)):
        note = ""
        if len(guide.team) > 1 and s.tension == most.tension:
            note = " (most agreed)"
        elif len(guide.team) > 1 and s.tension == least.tension:
            note = " (least agreed)"
        rows.append(
            [
                TENSION_BY_ID[s.tension].numbered,
                f"{s.now:.1f}",
                f"{s.want:.1f}",
                f"{s.gap:+.1f}",
                f"{s.spread:.1f}{note}",
            ]
        )
    return rows


def _sections(guide: MeetingGuide) -> list[tuple[str, list[Any]]]:
    """The guide as (heading, blocks); a block is str (paragraph), ("list", [str]),
    ("table", rows) or ("chart",)."""
    out: list[tuple[str, list[Any]]] = []
    purpose = [guide.purpose]
    if guide.context and not guide.context.is_empty():
        purpose.append(f"Our system: {guide.context.describe()}.")
        if guide.context.note:
            purpose.append(f"Our note: {guide.context.note}")
    out.append(("Purpose", purpose))
    out.append(
        (
            f"Agenda ({guide.minutes} minutes)",
            [("list", [f"{m} min — {item}" for item, m in guide.agenda])],
        )
    )
    out.append(
        (
            "The tensions we will discuss",
            [
                (
                    "list",
                    [
                        f"{TENSION_BY_ID[t].number}. {TENSION_BY_ID[t].question} "
                        f"({TENSION_BY_ID[t].label})"
                        for t in guide.tensions
                    ],
                )
            ],
        )
    )
    if guide.team:
        blocks: list[Any] = [
            f"{len(guide.team)} pathway(s): "
            + ", ".join(p.name for p in guide.team)
            + ". 1 is the left pole, 5 the right; the survey's median and mean are marked.",
            ("chart",),
            ("table", gap_rows(guide)),
        ]
        out.append(("Our pathways and gaps", blocks))
    for tid in guide.tensions:
        t = TENSION_BY_ID[tid]
        blocks = [t.question]
        examples = [example_line(e) for e in guide.examples if e.tension == tid]
        if examples:
            blocks += ["Examples from the paper:", ("list", examples)]
        prompts = [p for p in guide.prompts if p.tension == tid]
        library = [f"{p.text} [{p.citations[0].n}]" for p in prompts if p.kind == "from-library"]
        tailored = [p.text for p in prompts if p.kind == "tailored"]
        if library:
            blocks += ["Questions from the paper:", ("list", library)]
        if tailored:
            blocks += ["Questions for our context:", ("list", tailored)]
        out.append((t.numbered, blocks))
    if guide.pathway_questions:
        out.append(
            (
                "Talking about the pathways (Reflection Guide 2)",
                [("list", [f"{p.text} [{p.citations[0].n}]" for p in guide.pathway_questions])],
            )
        )
    out.append(("Sources", [("list", [source_line(c) for c in guide.sources.cited])]))
    return out


# -- writers ---------------------------------------------------------------------------------
def to_markdown(guide: MeetingGuide, chart_ref: str | None = None) -> str:
    """Markdown; the chart is linked as `chart_ref`, or embedded as a data URI when None."""
    lines = [f"# {TITLE}", ""]
    for heading, blocks in _sections(guide):
        lines += [f"## {heading}", ""]
        for block in blocks:
            if isinstance(block, str):
                lines += [block, ""]
            elif block[0] == "list":
                lines += [f"- {item}" for item in block[1]] + [""]
            elif block[0] == "table" and block[1]:
                rows = block[1]
                lines.append("| " + " | ".join(rows[0]) + " |")
                lines.append("|" + "---|" * len(rows[0]))
                lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
                lines.append("")
            elif block[0] == "chart" and guide.chart:
                ref = chart_ref or "data:image/png;base64," + base64.b64encode(guide.chart).decode()
                lines += [f"![Pathway chart]({ref})", ""]
    return "\n".join(lines)


def to_docx(guide: MeetingGuide) -> bytes:
    from docx import Document
    from docx.shared import Inches

    doc = Document()
    doc.core_properties.title = TITLE
    doc.add_heading(TITLE, level=0)
    for heading, blocks in _sections(guide):
        doc.add_heading(heading, level=1)
        for block in blocks:
            if isinstance(block, str):
                doc.add_paragraph(block)
            elif block[0] == "list":
                for item in block[1]:
                    doc.add_paragraph(item, style="List Bullet")
            elif block[0] == "table" and block[1]:
                rows = block[1]
                table = doc.add_table(rows=len(rows), cols=len(rows[0]))
                table.style = "Table Grid"
                for r, row in enumerate(rows):
                    for c, value in enumerate(row):
                        table.cell(r, c).text = value
            elif block[0] == "chart" and guide.chart:
                doc.add_picture(io.BytesIO(guide.chart), width=Inches(6.3))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def to_pdf(guide: MeetingGuide) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import (
        Image,
        ListFlowable,
        ListItem,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    story: list[Any] = [Paragraph(escape(TITLE), styles["Title"])]
    for heading, blocks in _sections(guide):
        story.append(Paragraph(escape(heading), styles["Heading2"]))
        for block in blocks:
            if isinstance(block, str):
                story.append(Paragraph(escape(block), styles["BodyText"]))
            elif block[0] == "list":
                items = [ListItem(Paragraph(escape(i), styles["BodyText"])) for i in block[1]]
                story.append(ListFlowable(items, bulletType="bullet", leftIndent=12))
            elif block[0] == "table" and block[1]:
                cells = [[Paragraph(escape(v), styles["BodyText"]) for v in r] for r in block[1]]
                table = Table(
                    cells, colWidths=[2.9 * inch, 0.7 * inch, 0.7 * inch, 0.7 * inch, 1.5 * inch]
                )
                table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey)]))
                story.append(table)
            elif block[0] == "chart" and guide.chart:
                story.append(Image(io.BytesIO(guide.chart), width=6.5 * inch, height=3.74 * inch))
        story.append(Spacer(1, 6))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=letter, title=TITLE).build(story)
    return buf.getvalue()


def render(guide: MeetingGuide, fmt: str) -> bytes:
    """The guide as one self-contained file's bytes (Markdown embeds the chart)."""
    if fmt == "md":
        return to_markdown(guide).encode("utf-8")
    if fmt == "docx":
        return to_docx(guide)
    if fmt == "pdf":
        return to_pdf(guide)
    raise InvalidOutput(f"Unknown format {fmt!r}; use md, docx or pdf.")


def write_guide(guide: MeetingGuide, path: str | Path, fmt: str | None = None) -> list[Path]:
    """Write the guide; Markdown gets the chart as a PNG beside it. Returns the files written."""
    path = Path(path)
    fmt = fmt or format_for(path)
    written = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "md":
            chart_ref = None
            if guide.chart:
                chart = path.with_name(f"{path.stem}-pathway.png")
                chart.write_bytes(guide.chart)
                written.append(chart)
                chart_ref = chart.name
            path.write_text(to_markdown(guide, chart_ref), encoding="utf-8")
        else:
            path.write_bytes(render(guide, fmt))
    except OSError as exc:
        raise InvalidOutput(f"Cannot write {path}: {exc.strerror or exc}") from exc
    return [path, *written]
