"""Choosing what to show from the fused ranking: the tension a question is about, and a
slate of passages laid out by the paper's structure instead of a flat top-k.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.core.types import Chunk
from assistant.retrieval.query import QueryPlan


@dataclass
class Scored:
    chunk: Chunk
    score: float
    dense: float


def focus_tension(ranked: list[Scored], plan: QueryPlan, top: int = 10) -> str | None:
    """The tension a question is about: named outright, or the clear majority of the best hits.

    A paraphrase ("tiny central team, which schools first?") names no tension, but its best
    passages mostly sit in one question of the paper; that section is where the answer is.
    """
    if plan.tensions and plan.intent in ("tension", "reflection", "survey"):
        return plan.tensions[0]
    if plan.intent != "fact" or plan.systems or plan.doc_ids:
        return None
    votes: dict[str, float] = {}
    counts: dict[str, int] = {}
    for s in ranked[:top]:
        if s.chunk.tension:
            votes[s.chunk.tension] = votes.get(s.chunk.tension, 0.0) + s.score
            counts[s.chunk.tension] = counts.get(s.chunk.tension, 0) + 1
    if not votes:
        return None
    best = max(votes, key=votes.get)
    if plan.tensions and plan.tensions[0] in votes and counts[plan.tensions[0]] >= 2:
        return plan.tensions[0]
    share = votes[best] / sum(votes.values())
    return best if share >= 0.45 and counts[best] >= 3 else None


ADDED_KEPT = 5  # an added document's passage ranked this high is always on the slate


def slate(
    ranked: list[Scored],
    plan: QueryPlan,
    k: int,
    tension: str | None,
    added: frozenset[str] = frozenset(),
) -> list[Scored]:
    """Choose k passages using the paper's structure rather than a flat top-k.

    - tension questions: the best few overall, then that tension's Lessons Learned and
      its examples from every side (a leader wants both sides and the combinations);
    - questions about a system: the best few overall, then every example naming it;
    - anything else: plain top-k.
    `tension` is `focus_tension(ranked, plan)`, computed once by the caller; `added`, the
    ids of the documents a user added.
    """
    if k <= 0 or not ranked:
        return []
    head = 3 if plan.intent == "fact" else 2
    chosen: list[Scored] = list(ranked[:head])
    taken = {s.chunk.id for s in chosen}

    def take(items):
        for s in items:
            if len(chosen) >= k:
                return
            if s.chunk.id not in taken:
                chosen.append(s)
                taken.add(s.chunk.id)

    # The structure below is the white paper's; a passage of a document the user added that
    # ranks near the top keeps its place (a district's own memo has no tensions or examples,
    # so the paper's structure would push it out; tests/test_district_library.py).
    take([s for s in ranked[:ADDED_KEPT] if s.chunk.doc_id in added])
    if tension and plan.intent not in ("survey", "reflection"):
        mine = [
            s for s in ranked if s.chunk.tension == tension and s.chunk.doc_id == "look-both-ways"
        ]
        take([s for s in mine if s.chunk.kind == "lessons"])
        examples = [s for s in mine if s.chunk.kind == "example"]
        if plan.intent == "tension":
            take(_interleave_sides(examples))
        take([s for s in mine if s.chunk.kind in ("example", "narrative")])
    elif plan.systems and plan.intent == "system":
        take(
            [
                s
                for s in ranked
                if s.chunk.kind == "example" and set(plan.systems) & set(s.chunk.systems)
            ]
        )
    take(ranked)
    order = {s.chunk.id: i for i, s in enumerate(ranked)}
    return sorted(chosen[:k], key=lambda s: order[s.chunk.id])


def _interleave_sides(examples: list[Scored]) -> list[Scored]:
    """Best of side a, of b, of combine, then the second best of each, and so on."""
    by_side: dict[str, list[Scored]] = {}
    for s in examples:
        by_side.setdefault(s.chunk.side or "", []).append(s)
    out = []
    while any(by_side.values()):
        for side in ("a", "b", "combine", ""):
            if by_side.get(side):
                out.append(by_side[side].pop(0))
    return out
