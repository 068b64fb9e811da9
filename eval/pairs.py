"""Blind grading material: our composed answer against the top `lbw retrieve` passages, and
optionally against another version's answer.

`lbw eval --pairs DIR` writes, for every question of the sets it runs:
- `DIR/pairs.jsonl`: one record per question with what a grader needs (the question, its
  history, the writer's key points, the expected scope and what the library is missing) and
  two candidates labelled "A" and "B": the composed answer with its citations' texts, and the
  top three passages of `lbw retrieve` shown verbatim under their headings;
- `DIR/key.jsonl`: for each question, which label is which ("composed" or "retrieved");
  keep it from the graders until the grades are in;
- `DIR/GRADING.md`: the rubric (GUIDE §6).

With a baseline (`--baseline FILE`: another version's `lbw ask --batch FILE --json`), each
record has three candidates "A", "B" and "C": the composed answer, the baseline answer
(rendered exactly as the composed one) and the retrieved passages; the key says which is
"composed", "baseline" or "retrieved", and GRADING.md also asks for an `order` of the labels
and gives the grades file's format (read by `python -m eval.tally`). Baseline results are
matched to questions by question text (NFC, whitespace collapsed) and history when the result
carries one; `lbw ask --batch` results carry none, so the n-th question with a given text takes
the n-th result with that text. `python -m eval.pairs --batch OUT` writes the batch file of the
questions `lbw eval` runs, in its order, for the older version to answer.

The order of A and B (or the permutation of A, B and C) is drawn per question from
(seed, set, id), so it does not depend on which other questions are in the run, and the same
seed gives the same labels.

Trade-off: the two candidates differ in form (prose with [n] markers against bare passages),
so a grader can often tell them apart; the random labels keep position from biasing the
grades and keep the grader from knowing for sure, and the key keeps the tally honest.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.core.errors import LbwError
from assistant.core.inputs import MAX_BATCH_BYTES, read_text_file
from assistant.core.types import Answer, Citation, Passage, Turn
from eval.questions import EvalQuestion, QuestionSetError, load_set, named_sets

COMPOSED, BASELINE, RETRIEVED = "composed", "baseline", "retrieved"
LABELS = ("A", "B", "C")
PERMUTATIONS = tuple(itertools.permutations((COMPOSED, BASELINE, RETRIEVED)))
CRITERIA = ("addresses", "evidence", "useful", "citations")

GRADING_BASELINE = """\
# Grading the candidates

Each line of `pairs.jsonl` is one question (with the conversation before it, if any), what
an ideal answer contains (`key_points`), the scope a good answer declares (`scope`:
answered, partial, or not_in_library, in which case it should say the library does not
cover it) and, for partial questions, what the library is `missing`. Its `candidates` follow
in random order: "A", "B" and "C" (a line may have only "A" and "B"). The library is in
`corpus/`; check a claim there when in doubt.

Grade each candidate on its own, 0 (no), 1 (in part) or 2 (yes), on:

1. `addresses`: addresses the question that was asked;
2. `evidence`: rests on the right evidence (the key points, from the library);
3. `useful`: useful to a busy school-system leader;
4. `citations`: every [n] marker supports the sentence it ends (candidates without markers:
   2 if every passage shown is relevant).

A candidate may list its "Sources", each "▸ [n]" a collapsed expander under the answer in the
app (a reader sees its heading and opens its passage with one click), and may end with
"▸ More from the library", which the app also shows collapsed. Judge a candidate first by
what a reader sees before these; they count as one click away, not as the answer itself (use
the sources' text to check the [n] markers).

Then rank the line's candidates as answers to the question, best first: `order` names every
label of the line once, joined by `>` (better than what follows) or `=` (as good), e.g.
`B>A=C`, `A=B=C`, or `B>A` on a line with two candidates.

Write one JSON object per line of `pairs.jsonl` to your grades file (JSON Lines, any order):

    {"set": "tune", "id": "W1-004", "grades": {"A": {"addresses": 2, "evidence": 1, "useful": 2, "citations": 2}, "B": {"addresses": 1, "evidence": 0, "useful": 1, "citations": 2}, "C": {"addresses": 2, "evidence": 2, "useful": 1, "citations": 2}}, "order": "C>A>B"}

`set` and `id` are copied from the pairs line; `grades` has every label of the line, each
with all four criteria as the integers 0, 1 or 2; nothing else is read.

Do not open `key.jsonl` until every grade is written down.
"""


# One rubric for kits of two and of three candidates: the criteria's names, the order and
# the grades file's format are what eval.tally reads (a two-candidate rubric without them had
# graders invent their own field names).
GRADING = GRADING_BASELINE


class BaselineError(LbwError):
    """A --baseline file that cannot be read or does not cover the questions."""

    exit_code = 2


def heading(title: str, section: str) -> str:
    return f"{title} — {section}" if section else title


def composed_candidate(answer: Answer) -> dict[str, Any]:
    """The answer as a reader sees it: its text, the heading and verbatim text of each
    passage it cites, labelled as the app shows them (each a collapsed expander under its
    heading: until 2026-12-06 kits showed their text as if in plain view, so a grader read an
    answer's quoted paragraph twice), then "More from the library" labelled as the app shows
    it, collapsed (its excerpts carry their own source lines). Passages only More cites are
    not listed as the answer's sources: a grader shown them so read them as the answer's own
    (the tune diagnosis of 2026-12-06 called them "an uncited source dump")."""
    cited = {int(n) for n in re.findall(r"(?<!\\)\[(\d+)\]", answer.answer)}
    passages = [
        {"n": c.n, "heading": heading(c.title, c.section), "text": c.text}
        for c in answer.citations
        if c.n in cited
    ]
    sources = "\n\n".join(f"▸ [{p['n']}] {p['heading']}\n{p['text']}" for p in passages)
    text = answer.answer.strip() + (f"\n\n{SOURCES_HEAD}\n\n{sources}" if sources else "")
    if answer.more and answer.in_scope:  # as the app shows it: collapsed, one click away
        text += f"\n\n{MORE_HEAD}\n\n{answer.more.strip()}"
    return {"text": text, "passages": passages}


SOURCES_HEAD = (
    "Sources (under the answer in the app, each a collapsed expander showing only its "
    "heading: a reader opens one with one click to read its passage)"
)
MORE_HEAD = (
    "▸ More from the library (collapsed under the answer in the app: a reader opens it "
    "with one click; each excerpt is quoted under its source)"
)


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


def three_way_order(seed: int, set_name: str, question_id: str) -> tuple[str, str, str]:
    """The sources shown as A, B and C for this question: one of the six orders, uniformly."""
    return random.Random(f"{seed}:{set_name}:{question_id}").choice(PERMUTATIONS)


# ---------------------------------------------------------------------------- baseline


def load_baseline(path: str | Path) -> list[dict[str, Any]]:
    """The result objects of `lbw ask --batch FILE --json` ({"results": [...]}) or of its
    --jsonl form (one result object per line)."""
    text = read_text_file(path, "baseline file", MAX_BATCH_BYTES, BaselineError)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("results"), list):
        results = doc["results"]
    elif isinstance(doc, dict) and "question" in doc:
        results = [doc]  # JSON Lines with one line
    else:
        results = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                results.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise BaselineError(
                    f"Line {number} of the baseline file {path} is not JSON ({exc.msg}); it "
                    'must be `lbw ask --batch FILE --json` output ({"results": [...]}) or '
                    "JSON Lines of its results."
                ) from exc
    for i, result in enumerate(results, start=1):
        if not isinstance(result, dict) or not isinstance(result.get("question"), str):
            raise BaselineError(f'Result {i} of the baseline file {path} has no "question".')
    return results


def _text_key(question: str) -> str:
    return " ".join(unicodedata.normalize("NFC", question).split())


def _history_key(history: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(t.get("role")), str(t.get("content"))) for t in history or ())


def answer_of_result(result: Mapping[str, Any], where: str) -> Answer:
    """A baseline result as an Answer (what a grader is shown: its text, citations and
    "More from the library", rendered like the composed answer's)."""
    try:
        citations = [
            Citation(
                n=int(c["n"]),
                id=str(c.get("id", "")),
                doc_id=str(c.get("doc_id", "")),
                title=str(c["title"]),
                section=str(c.get("section") or ""),
                text=str(c["text"]),
                pages=c.get("pages"),
            )
            for c in result.get("citations") or ()
        ]
        return Answer(
            question=result["question"],
            answer=str(result["answer"]),
            in_scope=bool(result.get("in_scope", True)),
            citations=citations,
            more=str(result.get("more") or ""),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(f"{where} is not an `lbw ask` result ({exc!r}).") from exc


def match_baseline(
    sets: Mapping[str, Sequence[EvalQuestion]], results: Sequence[Mapping[str, Any]], path: str
) -> tuple[dict[tuple[str, str], Answer], list[tuple[str, str]], int]:
    """Each question's baseline answer, the (set, id) of questions without one, and the
    number of results that were errors (those count as missing).

    A result with a "history" matches a question with the same text and history; one without
    matches by text, the n-th question with a text taking the n-th such result, in order.
    """
    with_history: dict[tuple[str, tuple], Mapping[str, Any]] = {}
    by_text: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    errors = 0
    for i, result in enumerate(results, start=1):
        if "error" in result:
            errors += 1
            continue
        if "history" in result:
            key = (_text_key(result["question"]), _history_key(result["history"]))
            with_history.setdefault(key, result)
        else:
            by_text.setdefault(_text_key(result["question"]), []).append((i, result))
    matched: dict[tuple[str, str], Answer] = {}
    missing: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for set_name, questions in sets.items():
        for q in questions:
            text = _text_key(q.question)
            history = tuple((t.role, t.content) for t in q.history)
            nth = seen.get(text, 0)
            seen[text] = nth + 1
            if (text, history) in with_history:
                result, where = with_history[(text, history)], f"The result for {q.id}"
            elif nth < len(by_text.get(text, ())):
                i, result = by_text[text][nth]
                where = f"Result {i} of the baseline file {path}"
            else:
                missing.append((set_name, q.id))
                continue
            matched[(set_name, q.id)] = answer_of_result(result, where)
    return matched, missing, errors


def read_baseline(
    path: str | Path, sets: Mapping[str, Sequence[EvalQuestion]], allow_missing: bool = False
) -> dict[str, Any]:
    """Load and match a baseline file; refuse it when questions lack a result, unless
    `allow_missing` (those questions then get the two usual candidates only)."""
    matched, missing, errors = match_baseline(sets, load_baseline(path), str(path))
    total = sum(len(qs) for qs in sets.values())
    if missing and not allow_missing:
        shown = ", ".join(f"{s}/{i}" for s, i in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        failed = f" ({errors} of its results are errors)" if errors else ""
        raise BaselineError(
            f"{len(missing)} of {total} questions have no result in the baseline file "
            f"{path}{failed}: {shown}{more}. Answer every question with the older version "
            "(`python -m eval.pairs --batch FILE` writes them, in order), or pass "
            "--allow-missing-baseline to give those questions two candidates only."
        )
    return {"file": str(path), "answers": matched, "missing": missing, "errors": errors}


def write_pairs(
    out_dir: str | Path,
    sets: Mapping[str, Sequence[EvalQuestion]],
    ask: Callable[[str, Sequence[Turn]], Answer],
    retrieve: Callable[[str, Sequence[Turn]], Sequence[Passage]],
    seed: int = 0,
    baseline: Mapping[tuple[str, str], Answer] | None = None,
) -> dict[str, Any]:
    """Write pairs.jsonl, key.jsonl and GRADING.md for every question of every set.

    `retrieve(question, history)` returns the passages to show (the top three). With
    `baseline` ((set, id) -> another version's Answer) a question that has one gets three
    candidates, and one that has none the usual two. Returns where the files are and how many
    pairs were written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs: list[str] = []
    keys: list[str] = []
    for set_name, questions in sets.items():
        for q in questions:
            shown = {
                COMPOSED: composed_candidate(ask(q.question, q.history)),
                RETRIEVED: retrieved_candidate(retrieve(q.question, q.history)),
            }
            if baseline is not None and (set_name, q.id) in baseline:
                shown[BASELINE] = composed_candidate(baseline[(set_name, q.id)])
                order = three_way_order(seed, set_name, q.id)
            elif composed_first(seed, set_name, q.id):
                order = (COMPOSED, RETRIEVED)
            else:
                order = (RETRIEVED, COMPOSED)
            labelled = dict(zip(LABELS, order, strict=False))
            candidates = {label: shown[source] for label, source in labelled.items()}
            record = {"set": set_name, **question_record(q), "candidates": candidates}
            key = {"set": set_name, "id": q.id, **labelled, "seed": seed}
            pairs.append(json.dumps(record, ensure_ascii=False))
            keys.append(json.dumps(key, ensure_ascii=False))
    files = {
        "pairs_file": out / "pairs.jsonl",
        "key_file": out / "key.jsonl",
        "rubric_file": out / "GRADING.md",
    }
    files["pairs_file"].write_text("".join(line + "\n" for line in pairs), encoding="utf-8")
    files["key_file"].write_text("".join(line + "\n" for line in keys), encoding="utf-8")
    files["rubric_file"].write_text(
        GRADING if baseline is None else GRADING_BASELINE, encoding="utf-8"
    )
    return {"dir": str(out), "count": len(pairs), **{k: str(v) for k, v in files.items()}}


# ---------------------------------------------------------------------------- batch file


def batch_lines(sets: Mapping[str, Sequence[EvalQuestion]]) -> list[str]:
    """The questions of `sets`, in run order, as `lbw ask --batch` lines."""
    return [
        json.dumps(
            {
                "question": q.question,
                "history": [{"role": t.role, "content": t.content} for t in q.history],
            },
            ensure_ascii=False,
        )
        for questions in sets.values()
        for q in questions
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m eval.pairs --batch OUT [--split S | --questions FILE]`."""
    parser = argparse.ArgumentParser(
        prog="python -m eval.pairs",
        description="Write the batch file of the questions `lbw eval` runs (same options, same "
        "order), for an older version's `lbw ask --batch OUT --json`: its output is the "
        "--baseline of `lbw eval --pairs`.",
    )
    parser.add_argument("--batch", required=True, metavar="OUT", help="the batch file to write")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--questions", help="one question file (as `lbw eval --questions`)")
    which.add_argument("--split", choices=("tune", "test"), help="one blind split")
    args = parser.parse_args(argv)
    try:
        if args.questions:
            sets = {"set": load_set([args.questions])}
        else:
            sets = {name: load_set(paths) for name, paths in named_sets(args.split).items()}
    except QuestionSetError as exc:
        print(f"eval.pairs: {exc}", file=sys.stderr)
        return exc.exit_code
    lines = batch_lines(sets)
    Path(args.batch).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"{len(lines)} questions written to {args.batch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
