"""The white paper as data: examples, benefit tables, lessons, questions, survey findings.

Built by `lbw ingest` from the parsed blocks (never typed in): every value is read from
the text with a rule, every quote, title and figure is a verbatim span of its source, and
every record names the passage (chunk id) it can be cited from. Where the sources disagree
(the paper's 58% "deliberate" against the TLA blog's 68%; the garbled "86% … to 90%"
sentence) both readings are kept with a note rather than one silently chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from assistant.core.catalog import Benefit, Catalog, Example, Lesson, Question
from assistant.core.domain import SYSTEM_BY_NAME, TENSION_BY_ID, TENSIONS, find_systems
from assistant.core.types import Chunk
from ingest.blocks import Block, ParsedDocument

PAPER = "look-both-ways"
BLOG = "tla-blog-2018"
PCT = r"(\d{1,3})%"
CATALOG_KEYS = ("examples", "benefits", "lessons", "questions", "findings", "spectrums")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


class Passages:
    """Finds the chunk a verbatim span of a document lives in."""

    def __init__(self, chunks: Iterable[Chunk]):
        self.chunks = list(chunks)

    def find(self, doc_id: str, span: str, tension: str | None = None) -> str | None:
        span = span.strip()
        for chunk in self.chunks:
            if (
                chunk.doc_id == doc_id
                and span in chunk.text
                and (tension is None or chunk.tension in (tension, None))
            ):
                return chunk.id
        return None


def build_catalog(parsed: list[ParsedDocument], chunks: list[Chunk]) -> Catalog:
    """The catalog of the library; empty sections when the white paper is absent."""
    docs = {p.doc_id: p for p in parsed}
    paper = docs.get(PAPER)
    passages = Passages(chunks)
    if paper is None:
        return {key: [] for key in CATALOG_KEYS}
    blog = docs.get(BLOG)
    return {
        "examples": examples(paper, passages),
        "benefits": benefits(paper.blocks, passages),
        "lessons": lessons(paper.blocks, passages),
        "questions": questions(paper.blocks, passages),
        "findings": findings(paper.blocks, passages, blog),
        "spectrums": spectrums(paper.blocks, passages),
    }


# -- examples -------------------------------------------------------------------------------
def examples(paper: ParsedDocument, passages: Passages) -> list[Example]:
    out = []
    for record in paper.extras.get("examples", []):
        text = f"{record['quote']}\n\n{record['leader']}\n\n{record['title']}\n\n{record['text']}"
        system, state = _system_as_written(record)
        out.append(
            {
                "id": f"{record['tension']}-{record['side']}-{slug(record['title'])}",
                "tension": record["tension"],
                "side": record["side"],
                "title": record["title"],
                "system": system,
                "state": state,
                "systems": list(record.get("systems") or []),
                "leader": record.get("leader"),
                "role": record.get("role"),
                "leader_system": record.get("leader_system"),
                "quote": record.get("quote"),
                "text": record["text"],
                "pages": record.get("pages"),
                "doc_id": paper.doc_id,
                "passage_id": passages.find(paper.doc_id, text)
                or passages.find(paper.doc_id, record["text"][:200]),
            }
        )
    return out


NOT_A_NAME = {"Trailblazer"}  # a district's programme, not how the text names the district


def _system_as_written(record: dict[str, Any]) -> tuple[str | None, str | None]:
    """The example's system (its leader's, else the first the story names), spelled as the
    story spells it, and its state."""
    story = record["text"]
    # find_systems(title + "\n" + story) (ingest.whitepaper): every system the story names.
    systems = list(record.get("systems") or [])
    leader_sys = find_systems(record.get("leader_system") or "")
    if leader_sys and leader_sys[0] in systems:
        canonical = leader_sys[0]
    elif systems:
        mentioned = [s for s in find_systems(story) if s in systems]
        canonical = (mentioned or systems)[0]
    else:
        return record.get("leader_system"), None
    system = SYSTEM_BY_NAME[canonical]
    best = None
    for alias in sorted(system.aliases, key=len, reverse=True):
        if alias in NOT_A_NAME:
            continue
        m = re.search(rf"(?<![\w-]){re.escape(alias)}(?![\w-])", story)
        if m and (best is None or m.start() < best.start()):
            best = m
    if best is None:
        written = (record.get("leader_system") or canonical).split(",")[0].strip()
        state_m = re.search(r",\s*([A-Z]{2})$", record.get("leader_system") or "")
        return written, state_m.group(1) if state_m else system.state
    tail = re.match(
        r"((?: (?:Country|County|District|Public|Unified|Schools|School|ISD|\d+)\b)*)",
        story[best.end() :],
    )
    end = best.end() + len(tail.group(1))
    written = story[best.start() : end].strip()
    state_m = re.match(r"(?: \([A-Z0-9]+\))?,? ([A-Z]{2})\b", story[end:])
    return written, state_m.group(1) if state_m else system.state


# -- benefits, lessons, questions -------------------------------------------------------------
ROW = re.compile(r"^- (Teacher|School Leader|District/CMO) Benefit: (.+)$", re.MULTILINE)
ROW_KEYS = {"Teacher": "teacher", "School Leader": "school_leader", "District/CMO": "district"}


def benefits(blocks: list[Block], passages: Passages) -> list[Benefit]:
    out = []
    for block in blocks:
        if block.kind != "benefits" or not block.tension:
            continue
        tension = TENSION_BY_ID[block.tension]
        sections = [s for s in block.text.split("\n\n") if ROW.search(s)]
        for side, section in zip(("a", "b"), sections, strict=False):
            head = section.split("\n", 1)[0]
            rows = {ROW_KEYS[m.group(1)]: m.group(2).strip() for m in ROW.finditer(section)}
            out.append(
                {
                    "tension": block.tension,
                    "side": side,
                    "pole": tension.side_label(side),
                    "summary": head,
                    **{key: rows.get(key) for key in ROW_KEYS.values()},
                    "passage_id": passages.find(PAPER, head, block.tension),
                }
            )
    return out


NUMBERED = re.compile(r"^(\d+)\.\s+(.+)$")


def _items(text: str) -> list[str]:
    """Numbered or bulleted items of a block; a line without a marker continues the last."""
    items: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        m = NUMBERED.match(line) or re.match(r"^-\s+(.+)$", line)
        if m:
            items.append(m.group(m.lastindex))
        elif items and line:
            items[-1] += "\n" + line
    return items


def lessons(blocks: list[Block], passages: Passages) -> list[Lesson]:
    out = []
    for block in blocks:
        if block.kind == "lessons" and block.tension:
            for item in _items(block.text):
                out.append(
                    {
                        "tension": block.tension,
                        "text": item,
                        "passage_id": passages.find(PAPER, item, block.tension),
                    }
                )
    return out


SPECTRUM = re.compile(r"^(.+?) < (.+)$")


def questions(blocks: list[Block], passages: Passages) -> list[Question]:
    """Reflection questions per tension, then the two guides' questions.

    Guide 1 questions carry their category ("Driving Values", …); Guide 2's are about the
    seven spectrums together, so their tension is null.
    """
    out = []
    for block in blocks:
        if block.kind != "reflection":
            continue
        section = block.path[-1] if block.path else ""
        if block.tension and section == "Reflection Questions":
            source, category = "reflection-questions", None
        elif len(block.path) >= 2 and block.path[1].startswith("Reflection Guide 1"):
            source = "guide-1"
            category = block.path[2] if len(block.path) > 2 else None
        elif len(block.path) >= 2 and block.path[1].startswith("Reflection Guide 2"):
            source, category = "guide-2", None
        else:
            continue
        for item in _items(block.text):
            if source == "guide-2" and "?" not in item:
                continue  # an instruction ("In a different color, mark…"), not a question
            if source == "guide-1" and category is None:
                continue
            out.append(
                {
                    "tension": block.tension if source == "reflection-questions" else None,
                    "text": " ".join(item.split()),
                    "source": source,
                    "category": category,
                    "passage_id": passages.find(PAPER, item.split("\n")[0], block.tension),
                }
            )
    return out


def spectrums(blocks: list[Block], passages: Passages) -> list[dict[str, str | None]]:
    """Guide 2's seven spectrums: the two ends as the guide writes them, per tension."""
    out = []
    names = {t.id.replace("-", " "): t.id for t in TENSIONS}
    for block in blocks:
        if block.kind != "reflection" or "Reflection Guide 2" not in " ".join(block.path):
            continue
        for line in block.text.splitlines():
            m = SPECTRUM.match(line.strip())
            if m and m.group(2).strip().lower() in names:
                tension_id = names[m.group(2).strip().lower()]
                out.append(
                    {
                        "tension": tension_id,
                        "label": m.group(2).strip(),
                        "ends": m.group(1).strip(),
                        "passage_id": passages.find(PAPER, line.strip()),
                    }
                )
    return out


# -- survey findings --------------------------------------------------------------------------
# Per tension: the words the survey uses for each pole in its "x% … y%" quick facts.
LEAN_WORDS = {
    "pace": {"b": r"“deliberate,”"},
    "resource-allocation": {"b": r"focus on readiness", "a": r"focus more on need"},
    "cultivating-capacity": {"b": r"internal capacity building", "a": r"external support"},
    "strategic-flexibility": {"b": r"adaptive strategy", "a": r"fixed strategies"},
    "comprehensiveness": {"b": r"“A la Carte” model", "a": r"favor “Prix Fixe”"},
    "sharing-learning": {"b": r"sharing failures or their processes"},
}


def _pct(pattern: str, text: str) -> tuple[float | None, str | None]:
    m = re.search(pattern, text)
    return (int(m.group(1)) / 100, m.group(0)) if m else (None, None)


def findings(
    blocks: list[Block], passages: Passages, blog: ParsedDocument | None
) -> list[dict[str, Any]]:
    by_tension: dict[str, list[Block]] = {}
    for block in blocks:
        if block.kind == "survey" and block.tension:
            by_tension.setdefault(block.tension, []).append(block)
    out = []
    for tension in TENSIONS:
        parts = by_tension.get(tension.id, [])
        if not parts:
            continue
        text = "\n\n".join(b.text for b in parts)
        finding: dict[str, Any] = {"tension": tension.id, "notes": [], "sources": {}}

        def keep(field: str, value, span: str | None, finding=finding, tid=tension.id) -> None:
            finding[field] = value
            if span:
                finding["sources"][field] = {
                    "text": span,
                    "passage_id": passages.find(PAPER, span, tid),
                }

        n = re.search(r"\(n=(\d+)\)", text)
        keep("n", int(n.group(1)) if n else None, n.group(0) if n else None)
        m = re.search(r"The median system rating was a (\d)", text)
        keep("median", int(m.group(1)) if m else None, m.group(0) if m else None)
        m = re.search(r"The average rating was (\d\.\d)", text)
        keep("mean", float(m.group(1)) if m else None, m.group(0) if m else None)
        for side in ("a", "b"):
            words = LEAN_WORDS.get(tension.id, {}).get(side)
            value, span = _pct(rf"{PCT}[^%.;]*?{words}", text) if words else (None, None)
            keep(f"lean_{side}", value, span)
        value, span = _pct(rf"top-priority challenge by {PCT}", text)
        if value is None:
            value, span = _pct(rf"{PCT} of systems citing it as a top issue", text)
        keep("top_priority", value, span)
        garbled = re.search(
            r"\d{1,3}% of respondents reported that they[^.]*? to \d{1,3}% of respondents", text
        )
        if garbled:
            readings = [int(v) / 100 for v in re.findall(PCT, garbled.group(0))]
            keep("devoted_resources", None, garbled.group(0))
            finding["devoted_resources_readings"] = readings
            finding["notes"].append(
                f"The paper's sentence is garbled (“{garbled.group(0)} …”): it gives both "
                + " and ".join(f"{v:.0%}" for v in readings)
                + "; both are kept and neither is chosen."
            )
        else:
            value, span = _pct(
                rf"{PCT} of respondents reported that they(?:['’]d| had) devoted", text
            )
            keep("devoted_resources", value, span)
        scale = SCALE.search(text)
        if scale:
            keep("scale", {"1": scale.group(1), "5": scale.group(2)}, scale.group(0))
            if note := _scale_note(tension.id, scale.group(1), scale.group(2)):
                finding["notes"].append(note)
        finding["patterns"] = _patterns(text)
        finding["pattern_passage_ids"] = [
            passages.find(PAPER, _lead_span(p), tension.id) for p in finding["patterns"]
        ]
        if blog is not None:
            _compare_blog(finding, blog, passages)
        finding["passage_id"] = (finding["sources"].get("median") or {}).get("passage_id") or (
            passages.find(PAPER, parts[0].text[:120], tension.id)
        )
        finding["passage_ids"] = sorted(
            {b["passage_id"] for b in finding["sources"].values() if b.get("passage_id")}
            | {p for p in finding["pattern_passage_ids"] if p}
        )
        out.append(finding)
    return out


SCALE = re.compile(r"on a scale of 1 to 5, with [“\"]1[”\"] ([^.]*?) and [“\"]5[”\"] ([^.]*?)\.")


def _stems(text: str) -> set[str]:
    return {w[:6] for w in re.findall(r"[a-z]{4,}", text.lower())}


def _scale_note(tension_id: str, one: str, five: str) -> str | None:
    """A note when the scale sentence puts a tension's second pole at "1" (or its first at
    "5"), judged by the words the survey and the tension use for each pole."""
    tension = TENSION_BY_ID[tension_id]
    words = LEAN_WORDS.get(tension_id, {})
    a = _stems(f"{words.get('a', '')} {tension.pole_a}")
    b = _stems(f"{words.get('b', '')} {tension.pole_b}")
    a, b = a - b, b - a
    one_s, five_s = _stems(one), _stems(five)
    if (one_s & b and not one_s & a) or (five_s & a and not five_s & b):
        return (
            f"The paper's scale sentence runs the other way (“1” {one}, “5” {five}) from this "
            f"tension's poles ({tension.pole_a}, then {tension.pole_b}); a median or mean "
            "placed on the poles' order may read reversed."
        )
    return None


def _lead_span(pattern: str) -> str:
    """The part of a pattern that is verbatim on one line of its passage (a list-introducing
    sentence is stored with its items joined)."""
    return re.split(r":\s|;\s", pattern, maxsplit=1)[0]


PATTERN_SENTENCE = re.compile(
    r"(?:\b(?:e\.g|i\.e)\.|[^.\n])*\b(?:more likely|less likely|most likely|twice as likely|were more|lean|"
    r"tended to|Larger|Urban|Rural|Suburban|CMOs|private schools|wealthier|high-income|"
    r"low-income)\b(?:\b(?:e\.g|i\.e)\.|[^.\n])*\.?",
)


def _patterns(text: str) -> list[str]:
    """Sentences and quick facts about which kinds of systems lean or prioritise which way;
    a sentence that introduces a list ("…more likely to report centralized approaches:")
    keeps its items."""
    found: list[str] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("Quick Facts") or (
            line.startswith("- ") and i and lines[i - 1].endswith(":")
        ):
            continue
        line = line.removeprefix("- ").strip()
        for m in PATTERN_SENTENCE.finditer(line):
            sentence = m.group(0).strip()
            if sentence.endswith(":"):
                items = []
                for item in lines[i + 1 :]:
                    if not item.startswith("- "):
                        break
                    items.append(item[2:].strip())
                sentence += " " + "; ".join(items)
            if len(sentence.split()) < 6:
                continue
            if any(sentence in f or f in sentence for f in found):
                found = [f for f in found if f not in sentence]
                if any(sentence in f for f in found):
                    continue
            found.append(sentence)
    return found


# What the TLA blog post reports for the same survey (its own wording, per tension and side).
BLOG_READINGS = {
    ("pace", "b"): r"more deliberate \(slow\) implementation strategies \((\d{1,3})%\)",
    ("pace", "a"): r"over accelerated ones \((\d{1,3})%\)",
    ("strategic-flexibility", "b"): r"adaptive strategies \((\d{1,3})%\)",
    ("strategic-flexibility", "a"): r"over fixed ones \((\d{1,3})%\)",
    ("comprehensiveness", "b"): r"more modular approaches \((\d{1,3})%\)",
    ("comprehensiveness", "a"): r"over packaged ones \((\d{1,3})%\)",
    ("sharing-learning", "a"): r"“best practices” \((\d{1,3})%\)",
    ("sharing-learning", "b"): r"the processes they have undergone \(only (\d{1,3})%\)",
}


def _compare_blog(finding: dict[str, Any], blog: ParsedDocument, passages: Passages) -> None:
    """Fill a lean the paper leaves out from the blog, and note any disagreement."""
    for (tension_id, side), pattern in BLOG_READINGS.items():
        if tension_id != finding["tension"]:
            continue
        m = re.search(pattern, blog.text)
        if not m:
            continue
        field = f"lean_{side}"
        value = int(m.group(1)) / 100
        source = {"text": m.group(0), "passage_id": passages.find(BLOG, m.group(0)), "doc_id": BLOG}
        paper = finding.get(field)
        if paper is None:
            finding[field] = value
            finding["sources"][field] = source
            finding["notes"].append(
                f"{field} ({value:.0%}) is from the TLA blog post; the white paper gives no "
                "figure for that side."
            )
        elif abs(paper - value) > 1e-9:
            finding["sources"][f"{field}_blog"] = source
            finding["notes"].append(
                f"The white paper reports {paper:.0%} (“{finding['sources'][field]['text']}”); "
                f"the TLA blog post reports {value:.0%} (“{m.group(0)}”). Both are kept; "
                f"{field} is the paper's figure."
            )
