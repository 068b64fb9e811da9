"""Parser for the Look Both Ways white paper.

The text is a PDF-to-text export: headings are bare lines, each district example is four
paragraphs (quote, leader, strategy title, story), and the three "Benefits at a Glance"
tables come in three different encodings (tab-separated cells, HTML cells, one cell per
line). We recognise the paper's fixed vocabulary of headings rather than guess from layout,
because a wrong guess would mislabel which side of a tension a district stands on.
"""

from __future__ import annotations

import re

from assistant.core.domain import TENSION_BY_NUMBER, TENSIONS, find_systems
from ingest.blocks import Block, ParsedDocument, paragraphs

# The standalone "X vs. Y" line that opens each question, in question order.
POLE_LINES = {
    "Centralized vs. Decentralized Implementation": 1,
    "“Fast and Furious” vs. “Slow and Steady”": 2,
    "Prioritize Need vs. Prioritize Readiness": 3,
    "Build Internally vs. Buy Externally": 4,
    "Fixed Strategy vs. Adapt with Experience": 5,
    "“Prix Fixe” vs. “A la Carte”": 6,
    "Share Best Practices vs. Share Process/Failures": 7,
}
FRONT_HEADINGS = {
    "About This Resource": "About this Resource",
    "Methodology": "Methodology",
    "Our Sample Systems": "Our Sample Systems",
    "Seven Key Questions": "Seven Key Questions",
}
DROP_LINES = re.compile(r"^(Q[1-7]|Taking it further|Table of Contents)$")
TOC_LINE = re.compile(r"^(\d{2})\t(.+)$")
LINK = re.compile(r"\[([^\]]+)\]\((?:#|https?://[^)]*)\)")
STORY_END_HEADINGS = ("Benefits at a Glance", "Lessons Learned", "Reflection Questions")


def _plain(text: str) -> str:
    """Markdown debris from the export: links become their text, bold marks and escapes go."""
    text = LINK.sub(r"\1", text)
    text = text.replace("\\(", "(").replace("\\)", ")").replace("**", "")
    return text


def _is_quote(para: str) -> bool:
    p = para.strip()
    return (
        p.startswith("“")
        and (p.endswith("”") or p.endswith("”.") or p.endswith("’”"))
        and p not in POLE_LINES
        and "\n" not in p
    )


def _is_leader(para: str) -> bool:
    words = para.split()
    return 1 < len(words) <= 4 and not para.rstrip().endswith((".", "?", "!", ":"))


def _why_heading(para: str) -> bool:
    p = para.strip()
    return p.startswith("Why ") and len(p) < 70 and (p.endswith("?") or p.endswith("?”"))


def parse_toc(text: str) -> dict[str, int]:
    """Map TOC entries to their start page."""
    pages = {}
    for line in text.split("\n"):
        m = TOC_LINE.match(line.strip("\n"))
        if m:
            pages[m.group(2).strip()] = int(m.group(1))
    return pages


def page_ranges(toc: dict[str, int]) -> dict[str, str]:
    """Section key -> "start-end" pages, each section ending where the next begins."""
    ordered = sorted(toc.items(), key=lambda kv: kv[1])
    keys: dict[str, str] = {}
    for i, (title, start) in enumerate(ordered):
        nxt = next((p for _, p in ordered[i + 1 :] if p > start), None)
        end = (nxt - 1) if nxt else start
        rng = f"{start}" if end <= start else f"{start}-{end}"
        m = re.match(r"Question (\d):", title)
        if m:
            keys[f"q{m.group(1)}"] = rng
        elif title.startswith("Reflection Guide 1"):
            keys["guide-1"] = rng
        elif title.startswith("Reflection Guide 2"):
            keys["guide-2"] = rng
        else:
            keys[title.lower()] = rng
    return keys


def parse_whitepaper(doc_id: str, title: str, text: str) -> ParsedDocument:
    pages = page_ranges(parse_toc(text))
    lines = [_plain(line.rstrip()) for line in text.split("\n")]
    lines = [
        "" if DROP_LINES.match(line.strip()) or TOC_LINE.match(line) else line for line in lines
    ]
    paras = paragraphs("\n".join(lines))
    parser = _Parser(doc_id, title, paras, pages)
    parser.run()
    return ParsedDocument(
        doc_id, title, parser.blocks, extras={"pages": pages, "examples": parser.examples}
    )


class _Parser:
    def __init__(self, doc_id: str, title: str, paras: list[str], pages: dict[str, str]):
        self.doc_id, self.title, self.paras, self.pages = doc_id, title, paras, pages
        self.blocks: list[Block] = []
        self.examples: list[dict] = []
        self.leaders = self._sample_systems()

    # -- helpers --------------------------------------------------------------------------
    def add(
        self,
        path,
        text,
        kind="narrative",
        tension=None,
        side=None,
        pages=None,
        group=None,
        example=None,
    ):
        self.blocks.append(
            Block(tuple(path), text.strip(), kind, tension, side, pages, example, group)
        )

    def _index(self, predicate, start=0) -> int:
        for i in range(start, len(self.paras)):
            if predicate(self.paras[i].strip()):
                return i
        return len(self.paras)

    def _sample_systems(self) -> dict[str, tuple[str, str]]:
        """Leader name -> (system as written, role), from the 'Our Sample Systems' pages."""
        start = self._index(lambda p: p == "Our Sample Systems")
        end = self._index(lambda p: p == "Seven Key Questions", start)
        leaders: dict[str, tuple[str, str]] = {}
        system = None
        for para in self.paras[start + 2 : end]:
            first, _, rest = para.partition("\n")
            if re.search(r",\s*[A-Z]{2}$", first) or first.startswith("Alliance for Catholic"):
                system = first.strip()
            elif system and rest:
                name = re.sub(r"^Dr\.\s+", "", first.strip())
                leaders[name] = (system, " ".join(rest.split()))
        return leaders

    # -- the document ---------------------------------------------------------------------
    def run(self) -> None:
        first_q = self._index(lambda p: p in POLE_LINES) - 1
        survey = self._index(lambda p: p == "Survey Data")
        guides = self._index(lambda p: p == "Reflection Guides", survey)
        about = self._index(lambda p: p == "About the Authors", guides)
        self._front(0, first_q)
        self._questions(first_q, survey)
        self._survey(survey, guides)
        self._guides(guides, about)
        self._about(about)

    def _front(self, start: int, end: int) -> None:
        heading = None
        sub = None
        for para in self.paras[start:end]:
            p = para.strip()
            if p in FRONT_HEADINGS:
                heading, sub = FRONT_HEADINGS[p], None
                continue
            if heading is None or p == "Look Both Ways" or p.startswith("A framework to help"):
                continue
            if p == "Consider the Following as You Read...":
                sub = p
                continue
            if p in ("Beth Rabbitt", "Ellie Avishai") or p.startswith(
                ("CEO, The Learning", "Partner, The Learning")
            ):
                continue
            path = [heading] + ([sub] if sub else [])
            pages = self.pages.get(heading.lower())
            group = "/".join(path)
            self.add(path, para, pages=pages, group=group)

    def _questions(self, start: int, end: int) -> None:
        starts = [i - 1 for i in range(start, end) if self.paras[i].strip() in POLE_LINES]
        starts.append(end)
        for n, (qs, qe) in enumerate(zip(starts, starts[1:], strict=False), start=1):
            self._question(n, qs, qe)

    def _question(self, number: int, start: int, end: int) -> None:
        tension = TENSION_BY_NUMBER[number]
        question = self.paras[start].strip()
        poles = self.paras[start + 1].strip()
        root = f"Question {number}: {question} ({poles})"
        pages = self.pages.get(f"q{number}")
        i = start + 2
        section: list[str] = []
        side: str | None = None
        sides_seen = 0
        mode = "intro"
        while i < end:
            p = self.paras[i].strip()
            if _why_heading(p):
                if p == "Why Combine Approaches?":
                    side = "combine"
                else:
                    sides_seen += 1
                    side = "a" if sides_seen == 1 else "b"
                section, mode = [p], "rationale"
                i += 1
                continue
            if p == "Benefits at a Glance":
                j = self._index(lambda q: _why_heading(q), i + 1)
                j = min(j, end)
                self._benefits(root, tension.id, pages, i, j)
                i = j
                continue
            if p in ("Lessons Learned", "Reflection Questions"):
                kind = "lessons" if p == "Lessons Learned" else "reflection"
                j = (
                    self._index(lambda q: q in ("Reflection Questions",), i + 1)
                    if kind == "lessons"
                    else end
                )
                j = min(j, end)
                body = "\n".join(self.paras[i + 1 : j])
                self.add([root, p], body, kind, tension.id, None, pages, group=f"{root}/{p}")
                i = j
                continue
            if (
                _is_quote(p)
                and i + 3 < end
                and _is_leader(self.paras[i + 1].strip())
                and mode in ("rationale", "example", "combine-intro")
            ):
                i = self._example(root, section, tension.id, side, pages, i, end)
                mode = "example"
                continue
            if mode == "intro":
                self.add([root], p, "narrative", tension.id, None, pages, group=root)
            else:
                self.add(
                    [root, *section],
                    p,
                    "narrative",
                    tension.id,
                    side,
                    pages,
                    group="/".join([root, *section]),
                )
                if side == "combine":
                    mode = "combine-intro"
            i += 1

    def _example(self, root, section, tension_id, side, pages, i, end) -> int:
        quote = self.paras[i].strip()
        leader = self.paras[i + 1].strip()
        title = self.paras[i + 2].strip()
        j = i + 3
        story: list[str] = []
        while j < end:
            p = self.paras[j].strip()
            if (
                _why_heading(p)
                or p in STORY_END_HEADINGS
                or (_is_quote(p) and j + 1 < end and _is_leader(self.paras[j + 1].strip()))
            ):
                break
            story.append(p)
            j += 1
        story_text = "\n\n".join(story)
        text = f"{quote}\n\n{leader}\n\n{title}\n\n{story_text}"
        systems = find_systems(title + "\n" + story_text)
        name = re.sub(r"^Dr\.\s+", "", leader)
        sample = self.leaders.get(name)
        record = {
            "tension": tension_id,
            "side": side,
            "title": title,
            "leader": leader,
            "quote": quote,
            "text": story_text,
            "systems": systems,
            "leader_system": sample[0] if sample else None,
            "role": sample[1] if sample else None,
            "pages": pages,
        }
        self.examples.append(record)
        self.add([root, *section, title], text, "example", tension_id, side, pages, example=record)
        return j

    def _benefits(self, root, tension_id, pages, start, end) -> None:
        rows = [p for p in self.paras[start + 1 : end] if not p.startswith("Seeing the benefits")]
        rows = [r for r in rows if not r.startswith("¹")]
        footnotes = [p for p in self.paras[start + 1 : end] if p.startswith("¹")]
        tension = next(t for t in TENSIONS if t.id == tension_id)
        table = format_benefits(rows, tension.pole_a, tension.pole_b)
        if footnotes:
            table += "\n\n" + "\n".join(footnotes)
        self.add([root, "Benefits at a Glance"], table, "benefits", tension_id, None, pages)

    def _survey(self, start: int, end: int) -> None:
        pages = self.pages.get("survey data")
        root = "Survey Data"
        i = start + 1
        path = [root]
        tension_id: str | None = None
        part = 0
        while i < end:
            p = self.paras[i].strip()
            if p.startswith("Findings by Each Question Area:"):
                rest = p.split(":", 1)[1].strip()
                if not rest:
                    i += 1
                    rest = self.paras[i].strip()
                number = POLE_LINES.get(rest)
                tension_id = TENSION_BY_NUMBER[number].id if number else None
                path, part = [root, f"Findings: {rest}"], 0
                i += 1
                continue
            if p in ("Overview of Respondents", "Overall Findings"):
                path, tension_id, part = [root, p], None, 0
                i += 1
                continue
            if p.startswith(("Reported devotion", "Reported dedication")) and tension_id:
                part = 1
            group = "/".join(path) + f"#{part}"
            self.add(path, p, "survey", tension_id, None, pages, group=group)
            i += 1

    def _guides(self, start: int, end: int) -> None:
        i = start
        path = ["Reflection Guides"]
        guide_key = None
        sub = None
        while i < end:
            p = self.paras[i].strip()
            if p == "Reflection Guides":
                i += 1
                continue
            m = re.match(r"Reflection Guide (\d):$", p)
            if m:
                guide_key = f"guide-{m.group(1)}"
                path = [
                    "Reflection Guides",
                    f"Reflection Guide {m.group(1)}: {self.paras[i + 1].strip()}",
                ]
                sub = None
                i += 2
                continue
            if guide_key == "guide-1" and p in (
                "Driving Values",
                "Context, Culture, & Climate",
                "Desired Outcomes",
            ):
                sub = p
                i += 1
                continue
            full = [*path, sub] if sub else path
            pages = self.pages.get(guide_key) if guide_key else self.pages.get("survey data")
            self.add(full, p, "reflection", None, None, pages, group="/".join(full))
            i += 1

    def _about(self, start: int) -> None:
        keep = {"About the Authors", "Thank you!"}
        heading = None
        for para in self.paras[start:]:
            p = para.strip()
            if p in keep:
                heading = p
                continue
            if p in ("The Learning Accelerator", "Learn more"):
                heading = None if p == "Learn more" else p
                continue
            if heading:
                self.add(
                    ["About the Authors" if heading != "The Learning Accelerator" else heading],
                    p,
                    pages=self.pages.get("about the authors"),
                    group=heading,
                )


# ---- Benefits at a Glance ---------------------------------------------------------------
ROW_LABELS = (
    "Teacher Benefit",
    "School Leader Benefit",
    "District/CMO Benefit",
    "District/ CMO Benefit",
)
TAG = re.compile(r"<[^>]+>")


def _cells_html(cell: str) -> list[str]:
    return [c.strip() for c in re.findall(r"<(?:p|h2)>(.*?)</(?:p|h2)>", cell) if c.strip()]


def format_benefits(rows: list[str], pole_a: str, pole_b: str) -> str:
    """Normalise any of the three table encodings to one readable layout per side."""
    sides: dict[str, dict[str, list[str]]] = {"a": {}, "b": {}}
    heads: dict[str, list[str]] = {"a": [], "b": []}
    joined = "\n".join(rows)
    if "\t" in joined:
        _parse_tabbed(joined.split("\n"), heads, sides)
    else:
        _parse_lines(rows, heads, sides)
    out = []
    for side, pole in (("a", pole_a), ("b", pole_b)):
        head = " ".join(h.strip() for h in heads[side] if h.strip())
        out.append(_name_colon(head, pole))
        for label in ("Teacher Benefit", "School Leader Benefit", "District/CMO Benefit"):
            cells = sides[side].get(label, [])
            if cells:
                out.append(f"- {label}: " + "; ".join(cells))
        out.append("")
    return "\n".join(out).strip()


def _name_colon(head: str, pole: str) -> str:
    """'Prioritize Need Start with…' -> 'Prioritize Need: Start with…' when the name is known."""
    for name in (f"“{pole}”", pole):
        if head.startswith(name + " ") and not head.startswith(name + ":"):
            return name + ":" + head[len(name) :]
    return head


def _label(cell: str) -> str | None:
    c = cell.strip().replace("District/ CMO", "District/CMO")
    return c if c in ("Teacher Benefit", "School Leader Benefit", "District/CMO Benefit") else None


def _parse_tabbed(lines, heads, sides) -> None:
    split_col = None
    for line in lines:
        cells = line.split("\t")
        label = _label(cells[0])
        if label is None:
            filled = [k for k, c in enumerate(cells) if c.strip()]
            if "<h2>" in line:
                parts = [c for c in cells if c.strip()]
                for side, part in zip(("a", "b"), parts, strict=False):
                    name, *rest = _cells_html(part)
                    heads[side].append(f"{name}: " + " ".join(rest))
                split_col = 2
                continue
            if len(filled) >= 2:
                split_col = filled[1] if split_col is None else split_col
                heads["a"].append(" ".join(cells[1:split_col]).strip())
                heads["b"].append(" ".join(cells[split_col:]).strip())
            continue
        if any("<p>" in c for c in cells):
            parts = [c for c in cells[1:] if c.strip()]
            sides["a"][label] = _cells_html(parts[0]) if parts else []
            sides["b"][label] = _cells_html(parts[1]) if len(parts) > 1 else []
            continue
        split = split_col or 1 + (len(cells) - 1) // 2
        sides["a"][label] = [c.strip() for c in cells[1:split] if c.strip()]
        sides["b"][label] = [c.strip() for c in cells[split:] if c.strip()]


def _parse_lines(rows, heads, sides) -> None:
    """One cell per paragraph: two side headers (name, description, Key Benefits), then rows."""
    first_label = next((k for k, r in enumerate(rows) if _label(r)), len(rows))
    header = [" ".join(r.split()) for r in rows[:first_label]]
    # Each side header is: name, description, "Key Benefits:", value.
    half = len(header) // 2
    for side, part in (("a", header[:half]), ("b", header[half:])):
        heads[side].append(f"{part[0]}: " + " ".join(part[1:]) if part else "")
    label = None
    cells: list[str] = []

    def flush():
        if label and cells:
            h = len(cells) // 2
            sides["a"][label] = cells[:h]
            sides["b"][label] = cells[h:]

    for r in rows[first_label:]:
        lab = _label(r)
        if lab:
            flush()
            label, cells = lab, []
        else:
            cells.append(" ".join(r.split()))
    flush()
