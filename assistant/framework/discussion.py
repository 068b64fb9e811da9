"""Discussion prompts for a leadership team: the white paper's reflection questions, verbatim,
and prompts tailored to a leader's context.

Tailored prompts never state a new fact. They are templates (assistant/data/discussion.toml)
filled only with catalog values (a survey pattern sentence, an example's system, title, quote
and a sentence giving its size) and the leader's own context. Evidence is chosen by reading the
context (size, setting, free-and-reduced-lunch share, years scaling, system type) against the
wording of the survey's patterns ("Large and urban districts", "over 100 schools", "early in
the process of scaling") and against the examples (systems of a similar number of schools,
words from the leader's note). Every prompt cites the passage its quoted words come from; a
snippet that cannot be found verbatim in a passage is not used.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from assistant.answer.citations import Citations
from assistant.core.catalog import Example, check_tension, findings, questions
from assistant.core.catalog import examples as catalog_examples
from assistant.core.domain import TENSION_BY_ID, TENSIONS
from assistant.core.errors import LbwError
from assistant.core.inputs import MAX_SMALL_FILE_BYTES, read_input_bytes
from assistant.core.text import squash, stemmer
from assistant.core.types import Chunk, Citation

SYSTEM_TYPES = ("district", "cmo", "charter", "private")
LOCALES = ("urban", "suburban", "rural", "mixed")
CONTEXT_KEYS = ("system_type", "schools", "locale", "frl_share", "years_scaling", "note")
MAX_NOTE_CHARS = 2000


class InvalidContext(LbwError):
    exit_code = 2


@dataclass(frozen=True)
class Context:
    """A leader's description of their system; every field optional."""

    system_type: str | None = None
    schools: int | None = None
    locale: str | None = None
    frl_share: float | None = None
    years_scaling: float | None = None
    note: str = ""

    def is_empty(self) -> bool:
        return all(getattr(self, k) in (None, "") for k in CONTEXT_KEYS)

    def describe(self) -> str:
        """'an urban district of 600 schools, 80% free and reduced lunch, 2 years scaling'."""
        kind = {"cmo": "CMO", "private": "private school system"}.get(
            self.system_type or "", self.system_type or "system"
        )
        head = " ".join(x for x in (self.locale, kind) if x)
        if self.schools is not None:
            head += f" of {self.schools} school{'s' if self.schools != 1 else ''}"
        parts = [head]
        if self.frl_share is not None:
            parts.append(f"{self.frl_share:.0%} free and reduced lunch")
        if self.years_scaling is not None:
            years = f"{self.years_scaling:g}"
            parts.append(f"{years} year{'' if years == '1' else 's'} scaling")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in CONTEXT_KEYS if getattr(self, k) not in (None, "")}


def parse_context(data: Any, source: str = "the context") -> Context:
    """Validate a context object (the `--context` JSON); InvalidContext says what to fix."""
    if not isinstance(data, dict):
        raise InvalidContext(f"{source} must be a JSON object with keys {', '.join(CONTEXT_KEYS)}.")
    unknown = sorted(set(data) - set(CONTEXT_KEYS))
    if unknown:
        raise InvalidContext(
            f"{source} has unknown key(s) {', '.join(unknown)}; use {', '.join(CONTEXT_KEYS)}."
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        if key in ("system_type", "locale"):
            allowed = SYSTEM_TYPES if key == "system_type" else LOCALES
            if not isinstance(value, str) or value.lower() not in allowed:
                raise InvalidContext(f"{source}: {key} must be one of {', '.join(allowed)}.")
            values[key] = value.lower()
        elif key == "schools":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
                raise InvalidContext(f"{source}: schools must be a whole number from 1 to 100000.")
            values[key] = value
        elif key == "frl_share":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise InvalidContext(
                    f"{source}: frl_share must be a number from 0 to 1 (e.g. 0.8 for 80%)."
                )
            values[key] = float(value)
        elif key == "years_scaling":
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= 100
            ):
                raise InvalidContext(f"{source}: years_scaling must be a number from 0 to 100.")
            values[key] = float(value)
        elif key == "note":
            if not isinstance(value, str) or len(value) > MAX_NOTE_CHARS:
                raise InvalidContext(
                    f"{source}: note must be text of at most {MAX_NOTE_CHARS} characters."
                )
            values[key] = value.strip()
    return Context(**values)


def read_context(path: str | Path) -> Context:
    """A --context file: a small regular file (the checked reader's cap), JSON."""
    raw = read_input_bytes(path, "context file", MAX_SMALL_FILE_BYTES, InvalidContext)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidContext(f"Context file {path} is not valid UTF-8 JSON: {exc}") from exc
    return parse_context(data, f"Context file {path}")


# -- rules (the data file) ------------------------------------------------------------------
@cache
def rules() -> dict[str, Any]:
    text = resources.files("assistant").joinpath("data/discussion.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data["_traits"] = {
        name: [re.compile(p, re.I) for p in spec["patterns"]]
        for name, spec in data["traits"].items()
    }
    data["_poles"] = {
        tid: {side: [re.compile(p, re.I) for p in pats] for side, pats in sides.items()}
        for tid, sides in data["poles"].items()
    }
    return data


def context_traits(ctx: Context) -> set[str]:
    """The survey's categories this context falls in (names of [traits.*] in the data file)."""
    t = rules()["thresholds"]
    traits: set[str] = set()
    if ctx.schools is not None:
        if ctx.schools >= t["very_large_schools"]:
            traits.add("very-large")
        elif ctx.schools >= t["large_schools"]:
            traits.add("large")
        elif ctx.schools <= t["small_schools"]:
            traits.add("small")
    if ctx.locale:
        traits.add(ctx.locale)
    if ctx.frl_share is not None:
        if ctx.frl_share >= t["high_frl"]:
            traits.add("high-frl")
        elif ctx.frl_share <= t["low_frl"]:
            traits.add("low-frl")
    if ctx.years_scaling is not None:
        if ctx.years_scaling <= t["early_years"]:
            traits.add("early")
        elif ctx.years_scaling >= t["later_years"]:
            traits.add("later")
    if ctx.system_type in ("cmo", "private"):
        traits.add(ctx.system_type)
    return traits


def _lean(text: str, tension: str) -> str | None:
    poles = rules()["_poles"].get(tension, {})
    found = {side for side, pats in poles.items() if any(p.search(text) for p in pats)}
    return found.pop() if len(found) == 1 else None


def read_pattern(sentence: str, tension: str) -> list[tuple[set[str], str | None]]:
    """A survey sentence as clauses: (traits named, side it leans to or None) per clause.

    "Large and urban districts ... need, while those serving small populations of ... free-
    and-reduced lunch ... readiness" is two clauses leaning opposite ways.
    """
    sentence_lean = _lean(sentence, tension)
    out = []
    for clause in re.split(r";\s+|,?\s+while\s+", sentence):
        traits = {
            name for name, pats in rules()["_traits"].items() if any(p.search(clause) for p in pats)
        }
        if traits:
            out.append((traits, _lean(clause, tension) or sentence_lean))
    return out


# -- prompts --------------------------------------------------------------------------------
@dataclass
class Prompt:
    text: str
    kind: str  # "from-library" | "tailored"
    tension: str | None
    why: str
    citations: list[Citation] = field(default_factory=list)
    lean: str | None = None  # tailored: the side ("a"/"b") its evidence leans to, if any
    quotes: list[str] = field(default_factory=list)  # library words it quotes, verbatim
    basis: str = "reflection-question"  # or "survey-pattern", "example"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kind": self.kind,
            "tension": self.tension,
            "why": self.why,
            "lean": self.lean,
            "basis": self.basis,
            "quotes": self.quotes,
            "citations": [c.to_dict() for c in self.citations],
        }


class Sources:
    """The library's passages, and numbering of the ones cited (first use first, by the
    answers' own numberer)."""

    def __init__(self, chunks: Mapping[str, Chunk] | Iterable[Chunk]):
        items = chunks.values() if isinstance(chunks, Mapping) else chunks
        self.chunks: dict[str, Chunk] = {c.id: c for c in items}
        self._norm = {cid: squash(c.text) for cid, c in self.chunks.items()}
        self._numbers = Citations()

    @property
    def cited(self) -> list[Citation]:
        return self._numbers.items

    def find(self, snippets: Sequence[str], prefer: Sequence[str | None] = ()) -> Chunk | None:
        """The passage that holds every snippet verbatim (whitespace aside), preferred ids first."""
        wanted = [squash(s) for s in snippets if s]
        order = [p for p in prefer if p in self.chunks] + [
            c for c in self.chunks if c not in prefer
        ]
        for cid in order:
            if all(w in self._norm[cid] for w in wanted):
                return self.chunks[cid]
        return None

    def cite(self, chunk: Chunk) -> Citation:
        return self.cited[self._numbers.number(chunk) - 1]


SIZE = re.compile(r"(?<!every )\b(\d{1,3}(?:,\d{3})*)\s+schools\b", re.I)


def example_size(example: Example) -> tuple[int, str] | None:
    """(schools, the sentence that says so) when the example's text gives its system's size."""
    names = [w for w in re.findall(r"[A-Z][a-z]+", example.get("system") or "") if len(w) > 3]
    for sentence in re.split(r"(?<=[.!?])\s+", example.get("text") or ""):
        match = SIZE.search(sentence)
        if not match:
            continue
        if any(n in sentence for n in names[:1]) or "in the district" in sentence:
            return int(match.group(1).replace(",", "")), sentence.strip()
    return None


def _words(text: str) -> set[str]:
    """Content-word stems, so a note's "coaching" meets an example's "coaches"."""
    stop = set(rules()["note_matching"]["stopwords"])
    words = [w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in stop]
    return set(stemmer().stemWords(words))


def _speaker(example: Example) -> str:
    leader, role = example.get("leader"), example.get("role")
    if leader and role:
        return f"{leader} ({role})"
    return leader or "its leader"


def _state(example: Example) -> str:
    return f", {example['state']}," if example.get("state") else ""


def library_prompts(catalog: Mapping[str, Any], tension: str, sources: Sources) -> list[Prompt]:
    """The tension's reflection questions, verbatim, each cited to its passage."""
    label = TENSION_BY_ID[tension].label
    out = []
    for q in questions(catalog, tension):
        chunk = sources.find([q["text"]], [q.get("passage_id")])
        if chunk is None:
            continue
        out.append(
            Prompt(
                q["text"],
                "from-library",
                tension,
                f"A reflection question the white paper asks leaders about {label}.",
                [sources.cite(chunk)],
                quotes=[q["text"]],
            )
        )
    return out


def tailored_prompts(
    catalog: Mapping[str, Any], tension: str, ctx: Context, sources: Sources, limit: int = 4
) -> list[Prompt]:
    """Prompts built on the survey patterns and examples that match this context."""
    r = rules()
    t = TENSION_BY_ID[tension]
    poles = {"a": t.pole_a, "b": t.pole_b}
    traits = context_traits(ctx)
    out: list[Prompt] = []
    leans: list[str] = []

    # 1. survey patterns whose wording names the context's traits
    matches = []
    for finding in findings(catalog, tension):
        prefer = [finding.get("passage_id"), *(finding.get("passage_ids") or [])]
        for order, pattern in enumerate(finding.get("patterns") or []):
            best = max(
                ((clause & traits, lean) for clause, lean in read_pattern(pattern, tension)),
                key=lambda m: len(m[0]),
                default=(set(), None),
            )
            if best[0]:
                matches.append((-len(best[0]), order, pattern, best[0], best[1], prefer))
    for _, _, pattern, matched, lean, prefer in sorted(matches)[:2]:
        chunk = sources.find([pattern], prefer)
        if chunk is None:
            continue
        trait = " and ".join(r["traits"][name]["label"] for name in sorted(matched))
        cite = sources.cite(chunk)
        end = "" if pattern.rstrip().endswith((".", "?", "!")) else "."
        if lean:
            leans.append(lean)
            text = r["templates"]["pattern_lean"].format(
                trait=trait,
                pattern=pattern,
                end=end,
                n=cite.n,
                pole=poles[lean],
                other_pole=poles["b" if lean == "a" else "a"],
            )
            why = (
                f"Your context ({ctx.describe()}) matches the survey's wording for {trait}; "
                f"the pattern leans toward {poles[lean]}."
            )
        else:
            text = r["templates"]["pattern_relevance"].format(
                trait=trait, pattern=pattern, end=end, n=cite.n
            )
            why = f"Your context ({ctx.describe()}) matches the survey's wording for {trait}."
        out.append(
            Prompt(text, "tailored", tension, why, [cite], lean, [pattern], "survey-pattern")
        )

    # 2. examples: similar size; the other side of the survey's lean; the leader's note
    examples = catalog_examples(catalog, tension)
    used: set[str] = set()

    def example_prompt(e: Example, template: str, why: str, **extra: Any) -> bool:
        snippets = [e["title"], e.get("quote") or "", extra.get("size_sentence", "")]
        chunk = sources.find(snippets, [e.get("passage_id")])
        if chunk is None or not e.get("quote"):
            return False
        cite = sources.cite(chunk)
        side_label = t.side_label(e["side"])
        text = r["templates"][template].format(
            system=e["system"],
            state=_state(e),
            title=e["title"],
            side_label=side_label,
            speaker=_speaker(e),
            quote=e["quote"],
            n=cite.n,
            schools=ctx.schools,
            **extra,
        )
        lean = e["side"] if e["side"] in ("a", "b") else None
        quotes = [e["title"], e["quote"]]
        if "size_sentence" in extra:
            quotes.append(extra["size_sentence"])
        out.append(Prompt(text, "tailored", tension, why, [cite], lean, quotes, "example"))
        used.add(e["id"])
        return True

    if ctx.schools:
        ratio = r["thresholds"]["similar_size_ratio"]
        sized = []
        for e in examples:
            size = example_size(e)
            if size and max(size[0], ctx.schools) / min(size[0], ctx.schools) <= ratio:
                sized.append((abs(size[0] - ctx.schools), e, size))
        for _, e, (count, sentence) in sorted(sized, key=lambda s: s[0])[:1]:
            example_prompt(
                e,
                "example_similar",
                f"{e['system']} counts {count} schools in the paper; your system has {ctx.schools}.",
                size_sentence=sentence,
            )
    if leans:
        lean = max(("a", "b"), key=leans.count)
        other = "b" if lean == "a" else "a"
        for e in examples:
            if e["side"] == other and e["id"] not in used:
                done = example_prompt(
                    e,
                    "example_other_side",
                    f"The survey pattern for systems like yours leans toward {poles[lean]}; "
                    f"this example looks the other way, toward {poles[other]}.",
                    lean_pole=poles[lean],
                )
                if done:
                    break
    if ctx.note:
        note = _words(ctx.note)
        scored = sorted(
            (
                (
                    -(len(note & _words(e.get("text") or "")) + 2 * len(note & _words(e["title"]))),
                    i,
                    e,
                )
                for i, e in enumerate(examples)
                if e["id"] not in used
            ),
            key=lambda s: s[:2],
        )
        for score, _, e in scored[:1]:
            if score < 0:
                shared = sorted(note & _words(f"{e['title']} {e.get('text') or ''}"))
                example_prompt(
                    e,
                    "example_note",
                    f"This example shares words with your note: {', '.join(shared[:6])}.",
                )
    return out[:limit]


def discussion_prompts(
    catalog: Mapping[str, Any],
    chunks: Mapping[str, Chunk] | Iterable[Chunk],
    tensions: Sequence[str] | None = None,
    context: Context | None = None,
    sources: Sources | None = None,
) -> list[Prompt]:
    """From-library prompts for each tension (all seven by default), then the tailored ones."""
    for tid in tensions or ():
        check_tension(tid)
    sources = sources or Sources(chunks)
    out: list[Prompt] = []
    for tid in tensions or [t.id for t in TENSIONS]:
        out.extend(library_prompts(catalog, tid, sources))
        if context is not None and not context.is_empty():
            out.extend(tailored_prompts(catalog, tid, context, sources))
    return out
