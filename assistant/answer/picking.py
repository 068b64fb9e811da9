"""Choosing sentences by what they mean: the question's units, scored and picked.

Every candidate unit is scored against the question by the cosine of their vectors (the
index's embedder; the unit's passage counts for CONTEXT of it, as a reader reads a sentence
in its paragraph), plus a little for sharing the question's rarer words, for coming from a
passage retrieval ranked high, and for coming from a document the question names. A
follow-up is read together with the question it follows, so "did they make it public?"
stays about the earlier subject; a question told with its situation ("We have 90 schools and
money for fifteen. How do I choose?") is read mostly by what it asks (ASKED), so the story
around the question does not choose sentences about the story; each part of a multi-part question is scored on its own
words as well as the whole question's; for "X without Y" a unit must be nearer X than Y.

Only the candidates that the cheap part of the score (words, rank) puts first are embedded,
a fixed number per question, so the choice is the same however warm the vector cache is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from assistant.answer.asking import Asked
from assistant.answer.units import Unit, Vectors, units_of
from assistant.core.text import terms
from assistant.retrieval.library import LoadedIndex
from assistant.retrieval.query import QueryPlan

EMBED_AT_MOST = 72  # candidates embedded per question (after the cheap pre-score)
NEAR_DUPLICATE = 0.9  # two units this alike say the same thing: keep one
CONTEXT = 0.3  # share of a unit's closeness that is its passage's
LEXICAL = 0.3  # weight of the share of the question's rarer words a unit has
ASKED = 0.7  # share of a unit's closeness that is to what a told question asks (fitted on tune)


@dataclass
class Pick:
    unit: Unit
    score: float
    cos: float  # to the whole question (or the part it was picked for)
    lexical: float


@lru_cache(maxsize=16384)
def stems(text: str) -> frozenset[str]:
    """A sentence's word stems (sentences recur across questions; stemming is the cost)."""
    return frozenset(terms(text))


class Judge:
    """Scores units against one question (see the module docstring)."""

    def __init__(self, index: LoadedIndex, plan: QueryPlan, asked: Asked):
        self.index = index
        self.vectors = Vectors.of(index)
        self.plan = plan
        self.asked = asked
        texts = [plan.question]
        if plan.followup and plan.search_text != plan.question:
            texts.append(plan.search_text)
        texts += asked.parts if asked.multi else []
        if asked.told:
            texts.append(asked.told)
        if asked.without:
            texts += list(asked.without)
        self.texts = texts
        self.q = self.vectors.query(texts)
        stats = index.term_stats
        own = set(terms(plan.question, drop_generic=True)) or set(terms(plan.question))
        self.weights = {t: stats.idf(t) for t in own}
        self.part_weights = [
            {t: stats.idf(t) for t in set(terms(p, drop_generic=True))} for p in asked.parts
        ]
        self.rank: dict[str, int] = {}
        self.doc_ids = set(plan.doc_ids)

    def _row(self, text: str) -> int:
        return self.texts.index(text)

    def lexical(self, unit: Unit, weights: dict[str, float] | None = None) -> float:
        weights = self.weights if weights is None else weights
        total = sum(weights.values())
        if not total:
            return 0.0
        have = stems(unit.text)
        return sum(w for t, w in weights.items() if t in have) / total

    def prior(self, unit: Unit) -> float:
        rank = self.rank.get(unit.chunk.id)
        bonus = 0.04 / (1 + rank) if rank is not None else 0.0
        if self.doc_ids and unit.chunk.doc_id in self.doc_ids:
            bonus += 0.05
        return bonus

    def shortlist(self, units: Iterable[Unit], n: int = EMBED_AT_MOST) -> list[Unit]:
        """The `n` units the cheap part of the score puts first (ties keep their order)."""
        units = list(dict.fromkeys(units))
        if len(units) <= n:
            return units
        cheap = [self.lexical(u) + 10 * self.prior(u) for u in units]
        order = sorted(range(len(units)), key=lambda i: -cheap[i])[:n]
        return [units[i] for i in sorted(order)]

    def cosines(self, units: list[Unit]) -> np.ndarray:
        """(len(units), len(self.texts)) cosines, each unit read in its passage: mostly the
        sentence itself, partly the passage around it."""
        if not units:
            return np.zeros((0, len(self.texts)))
        own = self.vectors.get([u.text for u in units]) @ self.q.T
        around = self.vectors.get([u.chunk.text for u in units]) @ self.q.T
        return (1 - CONTEXT) * own + CONTEXT * around

    def score(self, units: list[Unit], part: int | None = None) -> list[Pick]:
        """Each unit's score for the whole question (or for one part of it), best first;
        units nearer what "X without Y" must avoid than what it asks are left out."""
        cos = self.cosines(units)
        main = cos[:, 0]
        if (
            len(self.texts) > 1
            and self.plan.followup
            and self.plan.search_text != self.plan.question
        ):
            main = 0.6 * cos[:, 0] + 0.4 * cos[:, 1]
        weights = None
        if self.asked.told and part is None:
            main = (1 - ASKED) * main + ASKED * cos[:, self._row(self.asked.told)]
        if part is not None and self.asked.multi:
            main = 0.5 * main + 0.5 * cos[:, self._row(self.asked.parts[part])]
            weights = self.part_weights[part]
        keep = np.ones(len(units), dtype=bool)
        if self.asked.without:
            x, y = (cos[:, self._row(t)] for t in self.asked.without)
            main = 0.5 * main + 0.5 * x
            keep = y <= x + 0.02
        picks = []
        for i, unit in enumerate(units):
            if not keep[i]:
                continue
            lex = self.lexical(unit, weights)
            long = 0.03 if unit.words > 45 else 0.0
            score = float(main[i]) + LEXICAL * lex + self.prior(unit) - long
            picks.append(Pick(unit, score, float(main[i]), lex))
        picks.sort(key=lambda p: -p.score)
        return picks

    def alike(self, a: Unit, b: Unit) -> float:
        va, vb = self.vectors.get([a.text, b.text])
        return float(va @ vb)


def neighbour(index: LoadedIndex, unit: Unit) -> Unit | None:
    """The unit a leaning unit needs before it (same passage, same paragraph), or None."""
    if unit.position == 0:
        return None
    before = units_of(index, unit.chunk)[unit.position - 1]
    if before.line != unit.line or not before.prose or before.question or before.frame:
        return None  # not a sentence of the same paragraph, or a rhetorical question
    return before


def choose(
    judge: Judge,
    picks: list[Pick],
    most: int,
    words: int,
    used: set[str],
    floor: float = 0.15,
    own: set[str] | None = None,
) -> list[list[Unit]]:
    """Up to `most` units (each with the neighbour it leans on, which must be in `own` when
    given), best first: the second
    within `floor` + 0.1 of the best, the rest within `floor`; no near-duplicates, none
    already `used`, within `words`."""
    out: list[list[Unit]] = []
    chosen: list[Unit] = []
    total = 0
    best = picks[0].score if picks else 0.0
    for pick in picks:
        if len(chosen) >= most:
            break
        unit = pick.unit
        if unit.text in used or (out and pick.score < best - floor - (0.1 if len(out) == 1 else 0)):
            continue
        group = [unit]
        if unit.leans:
            before = neighbour(judge.index, unit)
            if before is None or (own is not None and before.text not in own):
                continue  # no sentence to lean on, or another district's
            if before.text not in used and not any(before.text == c.text for c in chosen):
                group = [before, unit]
        if any(judge.alike(u, c) >= NEAR_DUPLICATE for u in group for c in chosen):
            continue
        size = sum(u.words for u in group)
        if out and (total + size > words or len(chosen) + len(group) > most):
            continue
        out.append(group)
        chosen += group
        total += size
    return in_reading_order(out)


def in_reading_order(groups: list[list[Unit]]) -> list[list[Unit]]:
    """Groups from one passage together (where its best one came), in the passage's order."""
    first: dict[str, int] = {}
    for i, group in enumerate(groups):
        first.setdefault(group[0].chunk.id, i)
    return sorted(groups, key=lambda g: (first[g[0].chunk.id], g[0].position))
