"""Composing answers. The offline composer needs no language model: it assembles the
answer from verbatim sentences of retrieved passages, laid out by what the question is
about, and every sentence it uses carries the [n] of the passage it came from.

Layouts:
- a tension: both sides' examples (system, what they did, the leader's words), the
  combinations, what the survey says, lessons, questions for the team;
- a school system: its examples across tensions;
- survey numbers, reflection questions: the figures / questions themselves;
- anything else: the best-matching sentences.
When no passage covers the question (assistant.core.text.library_answers) the answer says
so and cites nothing.
"""

from __future__ import annotations

import re

from assistant.answer.citations import Citations
from assistant.answer.composer import Composer
from assistant.answer.scope import ScopeDecision
from assistant.core import catalog as framework
from assistant.core.catalog import Example
from assistant.core.domain import SYSTEM_BY_NAME, TENSION_BY_ID
from assistant.core.text import split_sentences
from assistant.core.types import Answer, Chunk
from assistant.retrieval.library import LoadedIndex, Retrieved
from assistant.retrieval.slate import Scored


class OfflineComposer(Composer):
    name = "offline"

    def compose(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> Answer:
        plan, windows, tension = found.plan, scope.windows, found.tension
        filters = found.filters
        cites = Citations()
        allowed = (lambda c: filters.allows(c.metadata())) if filters else (lambda c: True)
        if plan.intent == "reflection":
            body = self._reflection(plan, tension, found.ranked, index, cites, allowed)
        elif plan.intent == "survey":
            body = self._survey(windows, index, cites, tension, allowed)
        elif plan.intent == "tension" and tension:
            body = self._tension(tension, index, cites, allowed)
        elif plan.intent == "system" and plan.systems:
            body = self._system(plan.systems[0], windows, index, cites, allowed)
        else:
            body = self._fact(windows, index, cites)
            if tension and plan.intent == "fact":
                body += "\n\n" + self._related_examples(tension, found.chosen, cites)
        if scope.missing:  # partly answered: say first what the library does not hold
            body = f"{scope.missing}\n\n{body.strip()}"
        return Answer(plan.question, body.strip(), True, cites.items, self.name)

    # -- layouts -------------------------------------------------------------------------
    def _fact(self, windows, index, cites: Citations, limit: int = 3) -> str:
        lines, seen = [], set()
        best = windows[0].coverage if windows else 0
        for w in windows:
            if len(lines) >= limit or w.coverage < 0.5 * best:
                break
            if w.sentence in seen or len(w.sentence) < 25:
                continue
            seen.add(w.sentence)
            lines.append(f"{_inline(w.sentence)} {cites.cite(index.by_id[w.chunk_id])}")
        return "\n\n".join(lines)

    def _tension(self, tension_id: str, index, cites: Citations, allowed) -> str:
        t = TENSION_BY_ID[tension_id]
        out = [f"**{t.label}** — {t.question}"]
        intro = _first_chunk(
            index, lambda c: c.tension == tension_id and c.kind == "narrative" and not c.side
        )
        if intro and allowed(intro):
            out.append(f"{_first_sentences(intro.text, 2)} {cites.cite(intro)}")
        examples = [e for e in index.catalog.get("examples", []) if e["tension"] == tension_id]
        for side in ("a", "b", "combine"):
            items = [e for e in examples if e["side"] == side]
            lines = [
                self._example_line(e, index, cites) for e in items if _chunk_ok(e, index, allowed)
            ]
            if lines:
                heading = f"Why {t.side_label(side)}" if side != "combine" else "Combining both"
                out.append(f"### {heading}\n" + "\n".join(lines))
        out.append(self._survey_block(tension_id, index, cites, allowed))
        out.append(self._lessons_block(tension_id, index, cites, allowed))
        out.append(self._questions_block(tension_id, index, cites, allowed))
        return "\n\n".join(part for part in out if part)

    def _system(self, system: str, windows, index, cites: Citations, allowed) -> str:
        info = SYSTEM_BY_NAME.get(system)
        name = f"{system}, {info.state}" if info and info.state else system
        examples = [
            e
            for e in index.catalog.get("examples", [])
            if system in e.get("systems", []) and _chunk_ok(e, index, allowed)
        ]
        out = [f"**What the library says about {name}**"]
        by_tension: dict[str, list[str]] = {}
        for e in examples:
            by_tension.setdefault(e["tension"], []).append(
                self._example_line(e, index, cites, with_system=False)
            )
        for tension_id, lines in by_tension.items():
            t = TENSION_BY_ID[tension_id]
            out.append(f"### {t.label}\n" + "\n".join(lines))
        mentions = self._mentions(system, windows, index, allowed)
        if mentions:
            out.append(
                "### Other mentions\n"
                + "\n".join(
                    f"- {_inline(sentence)} {cites.cite(chunk)}" for sentence, chunk in mentions
                )
            )
        if len(out) == 1:
            return self._fact(windows, index, cites)
        return "\n\n".join(out)

    @staticmethod
    def _mentions(system: str, windows, index, allowed, limit: int = 4) -> list[tuple[str, Chunk]]:
        """Sentences outside the system's own examples that name it: the retrieved ones
        first, then the rest of the library, so an answer gathers everything said of it."""
        info = SYSTEM_BY_NAME.get(system)
        aliases = info.aliases if info else (system,)
        pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(a)}(?![\w-])" for a in aliases))
        out: list[tuple[str, Chunk]] = []
        seen: set[str] = set()
        candidates = [(w.sentence, index.by_id[w.chunk_id]) for w in windows] + [
            (sentence, chunk)
            for chunk in index.chunks
            if system in chunk.systems
            for sentence in split_sentences(chunk.text)
        ]
        for sentence, chunk in candidates:
            if len(out) >= limit:
                break
            if chunk.kind == "example" or not allowed(chunk) or sentence in seen:
                continue
            if system in chunk.systems and pattern.search(sentence) and len(sentence) > 40:
                seen.add(sentence)
                out.append((sentence, chunk))
        return out

    def _survey(self, windows, index, cites, tension_id, allowed) -> str:
        numeric = [w for w in windows if w.has_number and index.by_id[w.chunk_id].kind == "survey"]
        numeric = numeric or [w for w in windows if w.has_number]
        lines, seen = [], set()
        for w in numeric:
            if len(lines) >= 3 or w.sentence in seen:
                continue
            seen.add(w.sentence)
            lines.append(
                f"- {_inline(_strip_bullet(w.sentence))} {cites.cite(index.by_id[w.chunk_id])}"
            )
        body = (
            "**From the Look Both Ways survey of system leaders:**\n" + "\n".join(lines)
            if lines
            else ""
        )
        if tension_id and not lines:
            body = self._survey_block(tension_id, index, cites, allowed)
        return body or self._fact(windows, index, cites)

    def _reflection(self, plan, tension_id, ranked: list[Scored], index, cites, allowed) -> str:
        if tension_id:
            parts = [
                f"**Questions for your team on {TENSION_BY_ID[tension_id].label}**",
                self._questions_block(tension_id, index, cites, allowed, heading=False),
                self._lessons_block(tension_id, index, cites, allowed),
            ]
            return "\n\n".join(p for p in parts if p)
        if plan.systems:  # "questions for my cabinet about this" after asking about a system
            seen = dict.fromkeys(
                e["tension"] for e in framework.examples(index.catalog, system=plan.systems[0])
            )
            blocks = [
                f"**Questions for your team on {TENSION_BY_ID[t].label}**\n\n"
                + self._questions_block(t, index, cites, allowed, heading=False)
                for t in list(seen)[:3]
            ]
            if blocks:
                return "\n\n".join(blocks)
        chunks = [s.chunk for s in ranked if s.chunk.kind == "reflection"][:2]
        out = ["**Reflection questions from the library:**"]
        for chunk in chunks:
            items = _list_items(chunk.text) or [_first_sentences(chunk.text, 2)]
            out.append(
                f"*{chunk.section.split(' > ')[-1]}* {cites.cite(chunk)}\n"
                + "\n".join(f"- {i}" for i in items[:6])
            )
        return "\n\n".join(out)

    # -- blocks ----------------------------------------------------------------------------
    def _example_line(self, e: Example, index, cites: Citations, with_system: bool = True) -> str:
        chunk = index.by_id[e["passage_id"]]
        system = e.get("system") or (e["systems"][0] if e.get("systems") else "")
        if system and e.get("state") and with_system and f", {e['state']}" in chunk.text:
            system = f"{system}, {e['state']}"  # only a state the cited passage itself gives
        lead = f"{system} — {e['title']}" if with_system and system else e["title"]
        story = _first_sentences(e["text"], 2)
        quote = f" {_inline(e['quote'])} — {_inline(e['leader'])}" if e.get("quote") else ""
        return f"- **{_inline(lead)}.** {_inline(story)}{quote} {cites.cite(chunk)}"

    def _survey_block(self, tension_id, index, cites, allowed) -> str:
        """The survey's figures for a tension, then the patterns by kind of system and any
        disagreement between sources (from the catalog), each sentence cited."""
        chunks = [
            c for c in index.chunks if c.kind == "survey" and c.tension == tension_id and allowed(c)
        ]
        lines, used = [], set()
        for chunk in chunks:
            for s in split_sentences(chunk.text):
                if re.search(r"\d+%|median|average rating", s, re.IGNORECASE) and len(lines) < 4:
                    used.add(s)
                    lines.append(f"- {_inline(_strip_bullet(s))} {cites.cite(chunk)}")
        finding = next(iter(framework.findings(index.catalog, tension_id)), None)
        if finding:
            for pattern in finding.get("patterns", [])[:3]:
                chunk = next((c for c in chunks if pattern in c.text), None)
                if chunk and not any(pattern in u or u in pattern for u in used):
                    used.add(pattern)
                    lines.append(f"- {_inline(pattern)} {cites.cite(chunk)}")
            for note in finding.get("notes", []):
                sources = [
                    index.by_id.get(src.get("passage_id") or "")
                    for src in finding.get("sources", {}).values()
                    if src.get("text") and src["text"] in note
                ]
                marks = " ".join(cites.cite(c) for c in sources if c is not None and allowed(c))
                if marks:
                    lines.append(f"- *Note:* {_inline(note)} {marks}")
        return "### What the survey says\n" + "\n".join(lines) if lines else ""

    def _lessons_block(self, tension_id, index, cites, allowed) -> str:
        chunk = _first_chunk(index, lambda c: c.kind == "lessons" and c.tension == tension_id)
        if not chunk or not allowed(chunk):
            return ""
        items = [
            _first_sentences(re.sub(r"^\d+\.\s*", "", line), 1)
            for line in chunk.text.split("\n")
            if line.strip()
        ]
        return "### Lessons learned\n" + "\n".join(
            f"- {_inline(i)} {cites.cite(chunk)}" for i in items
        )

    def _questions_block(self, tension_id, index, cites, allowed, heading: bool = True) -> str:
        chunk = _first_chunk(index, lambda c: c.kind == "reflection" and c.tension == tension_id)
        if not chunk or not allowed(chunk):
            return ""
        items = _list_items(chunk.text)
        body = "\n".join(f"- {_inline(i)} {cites.cite(chunk)}" for i in items)
        return ("### Questions for your team\n" if heading else "") + body

    def _related_examples(self, tension_id, chosen: list[Scored], cites) -> str:
        examples = [
            s.chunk for s in chosen if s.chunk.kind == "example" and s.chunk.tension == tension_id
        ][:3]
        if not examples:
            return ""
        t = TENSION_BY_ID[tension_id]
        lines = []
        for chunk in examples:
            parts = chunk.text.split("\n\n")
            title, story = (
                (parts[2], "\n\n".join(parts[3:]))
                if len(parts) >= 4
                else (chunk.section, chunk.text)
            )
            lines.append(
                f"- **{_inline(title)}.** {_inline(_first_sentences(story, 1))} {cites.cite(chunk)}"
            )
        return f"**How other systems handled it** ({t.label}):\n" + "\n".join(lines)


# -- text helpers --------------------------------------------------------------------------
def _chunk_ok(example: Example, index, allowed) -> bool:
    chunk = index.by_id.get(example.get("passage_id") or "")
    return chunk is not None and allowed(chunk)


def _first_chunk(index, predicate) -> Chunk | None:
    return next((c for c in index.chunks if predicate(c)), None)


def _first_sentences(text: str, n: int) -> str:
    return " ".join(split_sentences(text)[:n])


def _list_items(text: str) -> list[str]:
    items = [re.sub(r"^\s*(?:[-•]|\d+\.)\s*", "", line).strip() for line in text.split("\n")]
    return [i for i in items if i]


def _strip_bullet(text: str) -> str:
    return re.sub(r"^\s*[-•]\s*", "", text)


def _inline(text: str) -> str:
    """Verbatim text made safe inside one Markdown line: no line breaks, no stray markup."""
    text = " ".join(text.split())
    return re.sub(r"([*_`<>#\[\]])", r"\\\1", text)
