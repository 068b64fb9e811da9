"""Questions the library answers, drawn from the question index: the app's suggestions on
its start screen and the two or three related questions under an answer.

Only written questions in a full form are offered (direct, named, advice, yes/no): the
short and misspelt ones help retrieval find a passage but read badly as a suggestion, and
a situation told at length is one leader's, not the reader's. A related question is one
written for a passage the answer was drawn from, nearest the question asked but not a
rewording of it (cosine below SAME), and no two are rewordings of each other.
"""

from __future__ import annotations

import numpy as np

from assistant.retrieval.library import LoadedIndex, Retrieved

SHOWN_FORMS = frozenset({"direct", "named", "advice", "yesno", "model"})
SAME = 0.85  # at or above this cosine, two questions ask the same thing
RELATED = 3  # related questions under an answer
FROM_PASSAGES = 5  # drawn from the answer's best passages


def related_questions(found: Retrieved, index: LoadedIndex, n: int = RELATED) -> list[str]:
    """Up to `n` questions written for the answer's best passages, nearest the asked one."""
    questions = index.question_vectors
    if questions is None or not len(questions.texts) or found.plan.vector is None:
        return []
    rows = index.rows
    owners = {
        rows[part]
        for s in found.chosen[:FROM_PASSAGES]
        for part in s.chunk.id.split("+")
        if part in rows
    }
    pick = [
        i
        for i, (owner, form) in enumerate(zip(questions.owners, questions.forms, strict=True))
        if int(owner) in owners and form in SHOWN_FORMS
    ]
    if not pick:
        return []
    sims = questions.vectors[pick] @ found.plan.vector
    chosen: list[int] = []
    used: set[int] = set()
    for j in np.argsort(-sims, kind="stable"):
        i = pick[int(j)]
        if sims[j] >= SAME or int(questions.owners[i]) in used:
            continue
        if any(float(questions.vectors[i] @ questions.vectors[c]) >= SAME for c in chosen):
            continue
        chosen.append(i)
        used.add(int(questions.owners[i]))
        if len(chosen) == n:
            break
    return [questions.texts[i] for i in chosen]


def suggested_questions(index: LoadedIndex, n: int = 6) -> list[str]:
    """`n` questions to start from, spread over the library's documents (one each in turn)
    and over each document's passages (evenly spaced), the same for every visitor."""
    questions = index.question_vectors
    if questions is None or not len(questions.texts):
        return []
    per_doc: dict[str, list[int]] = {}
    for i, (owner, form) in enumerate(zip(questions.owners, questions.forms, strict=True)):
        if form in ("direct", "named") and len(questions.texts[i]) <= 120:
            per_doc.setdefault(index.chunks[int(owner)].doc_id, []).append(i)
    docs = list(per_doc)
    out: list[int] = []
    taken = {d: 0 for d in docs}
    while len(out) < n and any(taken[d] < len(per_doc[d]) for d in docs):
        for d in docs:
            if len(out) == n or taken[d] >= len(per_doc[d]):
                continue
            pool = per_doc[d]
            # the k-th pick of a document sits at the k-th of n evenly spaced places
            place = (taken[d] * 2 + 1) * len(pool) // (2 * max(1, n // len(docs) + 1))
            i = pool[min(place, len(pool) - 1)]
            taken[d] += 1
            if i not in out:
                out.append(i)
    return [questions.texts[i] for i in out]
