"""Blind grading material: our composed answer against the top `lbw retrieve` passages.

`lbw eval --pairs DIR` writes, for every question of the sets it runs:
- `DIR/pairs.jsonl`: one record per question with what a grader needs (the question, its
  history, the writer's key points, the expected scope and what the library is missing) and
  two candidates labelled "A" and "B": the composed answer with its citations' texts, and the
  top three passages of `lbw retrieve` shown verbatim under their headings;
- `DIR/key.jsonl`: for each question, which label is which ("composed" or "retrieved");
  keep it from the graders until the grades are in;
- `DIR/GRADING.md`: the rubric (GUIDE §6).

The order of A and B is drawn per question from (seed, set, id), so it does not depend on
which other questions are in the run, and the same seed gives the same labels.

Trade-off: the two candidates differ in form (prose with [n] markers against bare passages),
so a grader can often tell them apart; the random labels keep position from biasing the
grades and keep the grader from knowing for sure, and the key keeps the tally honest.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.core.types import Answer, Passage, Turn
from eval.questions import EvalQuestion

COMPOSED, RETRIEVED = "composed", "retrieved"

GRADING = """\
# Grading the pairs

Each line of `pairs.jsonl` is one question (with the conversation before it, if any), what
an ideal answer contains (`key_points`), the scope a good answer declares (`scope`:
answered, partial, or not_in_library, in which case it should say the library does not
cover it) and, for partial questions, what the library is `missing`. Two candidates follow,
"A" and "B". Grade each on its own, 0 (no), 1 (in part) or 2 (yes), on:

1. addresses the question that was asked;
2. rests on the right evidence (the key points, from the library);
3. useful to a busy school-system leader;
4. every [n] marker supports the sentence it ends (candidates without markers: 2 if every
   passage shown is relevant).

Do not open `key.jsonl` until every grade is written down.
"""


def heading(title: str, section: str) -> str:
    return f"{title} — {section}" if section else title


def composed_candidate(answer: Answer) -> dict[str, Any]:
    """The answer as a reader sees it, then each citation's heading and verbatim text."""
    passages = [
        {"n": c.n, "heading": heading(c.title, c.section), "text": c.text} for c in answer.citations
    ]
    sources = "\n\n".join(f"[{p['n']}] {p['heading']}\n{p['text']}" for p in passages)
    text = answer.answer.strip() + (f"\n\nSources:\n\n{sources}" if sources else "")
    return {"text": text, "passages": passages}


def retrieved_candidate(passages: Sequence[Passage]) -> dict[str, Any]:
    """Passages shown verbatim under their headings, numbered in rank order."""
    shown = [
        {"n": i, "heading": heading(p.title, p.section), "text": p.text}
        for i, p in enumerate(passages, start=1)
    ]
    text = "\n\n".join(f"{p['n']}. {p['heading']}\n{p['text']}" for p in shown)
    return {"text": text, "passages": shown}


def question_record(q: EvalQuestion) -> dict[str, Any]:
    """What a grader sees of a question: no evidence, kind or writer."""
    return {
        "id": q.id,
        "question": q.question,
        "history": [{"role": t.role, "content": t.content} for t in q.history],
        "key_points": list(q.key_points),
        "scope": q.scope,
        "missing": q.missing,
    }


def composed_first(seed: int, set_name: str, question_id: str) -> bool:
    """Whether the composed answer is "A" for this question (a fair coin per question)."""
    return random.Random(f"{seed}:{set_name}:{question_id}").random() < 0.5


def write_pairs(
    out_dir: str | Path,
    sets: Mapping[str, Sequence[EvalQuestion]],
    ask: Callable[[str, Sequence[Turn]], Answer],
    retrieve: Callable[[str, Sequence[Turn]], Sequence[Passage]],
    seed: int = 0,
) -> dict[str, Any]:
    """Write pairs.jsonl, key.jsonl and GRADING.md for every question of every set.

    `retrieve(question, history)` returns the passages to show (the top three). Returns
    where the files are and how many pairs were written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs: list[str] = []
    keys: list[str] = []
    for set_name, questions in sets.items():
        for q in questions:
            composed = composed_candidate(ask(q.question, q.history))
            retrieved = retrieved_candidate(retrieve(q.question, q.history))
            first = composed_first(seed, set_name, q.id)
            a, b = (composed, retrieved) if first else (retrieved, composed)
            record = {"set": set_name, **question_record(q), "candidates": {"A": a, "B": b}}
            key = {
                "set": set_name,
                "id": q.id,
                "A": COMPOSED if first else RETRIEVED,
                "B": RETRIEVED if first else COMPOSED,
                "seed": seed,
            }
            pairs.append(json.dumps(record, ensure_ascii=False))
            keys.append(json.dumps(key, ensure_ascii=False))
    files = {
        "pairs_file": out / "pairs.jsonl",
        "key_file": out / "key.jsonl",
        "rubric_file": out / "GRADING.md",
    }
    files["pairs_file"].write_text("".join(line + "\n" for line in pairs), encoding="utf-8")
    files["key_file"].write_text("".join(line + "\n" for line in keys), encoding="utf-8")
    files["rubric_file"].write_text(GRADING, encoding="utf-8")
    return {"dir": str(out), "count": len(pairs), **{k: str(v) for k, v in files.items()}}
