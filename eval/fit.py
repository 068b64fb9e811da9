"""Fit the few numbers the pipeline is tuned by, on the blind TUNE split only (GUIDE §6).

    python -m eval.fit            # needs a built index (LBW_STORE_DIR)
    python -m eval.fit --floor    # only the relevance floor (e.g. for LBW_EMBEDDER=mpnet)

Prints, for each candidate value, the tune split's figures, so the chosen value and the
trade-off around it can be read and re-checked:
- `retrieval.library.PARENT_CHARS`: how long a section may be to come back whole;
- `retrieval.query.CARRIED_ANSWER_CHARS`: how much of the previous answer a follow-up's
  search carries;
- `retrieval.hybrid.SENTENCE_WEIGHT`: the closest-sentence ranking's vote in the fusion;
- the embedder's `relevance_floor` (best passage, best sentence): below both, a question is
  off the library's subject. The curve is in-library questions refused against off-library
  ones answered.
The test split (W3-W8) is never read here.
"""

from __future__ import annotations

import argparse

from assistant.answer import scope as scoping
from assistant.core.settings import Settings
from assistant.retrieval import hybrid, library, query
from assistant.service import load_assistant
from eval.questions import load_set, named_sets
from eval.scoring import evaluate


def _retrieval(bot, questions) -> float:
    bot._index = library.open_index(bot.settings, bot.embedder)  # fresh caches per value
    return evaluate(lambda q, h, k: bot.retrieve(q, h, k=k), questions, k=8)["hit_rate"]


def _scope_rows(bot, questions):
    rows = []
    for q in questions:
        plan, index = bot.plan(q.question, q.history)
        if scoping.precheck(plan, index) is not None:
            rows.append((q, "not_in_library", None, None, ""))
            continue
        found = index.retrieve(plan, bot.settings.top_k)
        decision = scoping.decide(found, index)
        dense = max((s.dense for s in found.ranked[:3]), default=0.0)
        closest = scoping.closest_sentences(plan, found, index)
        sentence = closest[0][0] if closest else 0.0
        floor = bot.embedder.relevance_floor or (0.0, 0.0)
        by_threshold = dense < floor[0] and sentence < floor[1]
        fixed = decision.outcome if not by_threshold else None
        rows.append((q, fixed, dense, sentence, decision.missing))
    return rows


def _curve_point(
    rows, min_dense: float, min_sentence: float
) -> tuple[int, int, int, int, int, int]:
    refused = answered_off = labelled = n_in = n_off = n_partial = 0
    for q, fixed, dense, sentence, missing in rows:
        if dense is None:
            outcome = fixed
        elif dense < min_dense and sentence < min_sentence:
            outcome = "not_in_library"
        elif fixed == "not_in_library":
            outcome = fixed
        else:
            outcome = "partial" if missing else "answered"
        if q.scope == "not_in_library":
            n_off += 1
            answered_off += outcome != "not_in_library"
        else:
            n_in += 1
            refused += outcome == "not_in_library"
            if q.scope == "partial":
                n_partial += 1
                labelled += outcome == "partial"
    return refused, n_in, answered_off, n_off, labelled, n_partial


# The floor's grid: each embedder spreads cosines differently (mpnet's unrelated texts sit
# lower than MiniLM's), so the grid is wide enough for both.
FLOOR_PASSAGE = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
FLOOR_SENTENCE = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", action="store_true", help="fit only the relevance floor")
    args = parser.parse_args(argv)
    bot = load_assistant(Settings.from_env())
    tune = load_set(named_sets("tune")["tune"])
    print(f"embedder: {bot.embedder.model_id}")
    if not args.floor:
        _fit_retrieval(bot, tune)
    _fit_floor(bot, tune)


def _fit_retrieval(bot, tune) -> None:
    chosen = library.PARENT_CHARS
    print("PARENT_CHARS: all evidence in the top 8 (tune)")
    for value in (0, 1500, 2500, 4000, 8000):
        library.PARENT_CHARS = value
        print(f"  {value:>5}: {_retrieval(bot, tune):.3f}")
    library.PARENT_CHARS = chosen
    chosen = query.CARRIED_ANSWER_CHARS
    print("CARRIED_ANSWER_CHARS: all evidence in the top 8 (tune)")
    for value in (0, 300, 600):
        query.CARRIED_ANSWER_CHARS = value
        print(f"  {value:>5}: {_retrieval(bot, tune):.3f}")
    query.CARRIED_ANSWER_CHARS = chosen
    chosen = hybrid.SENTENCE_WEIGHT
    print("SENTENCE_WEIGHT: all evidence in the top 8 (tune)")
    for value in (0.0, 0.5, 1.0, 1.25, 1.5, 2.0):
        hybrid.SENTENCE_WEIGHT = value
        print(f"  {value:>5}: {_retrieval(bot, tune):.3f}")
    hybrid.SENTENCE_WEIGHT = chosen


def _fit_floor(bot, tune) -> None:
    rows = _scope_rows(bot, tune)
    print(
        "relevance_floor (passage, sentence): in-library refused, off-library answered, partial labelled"
    )
    for min_dense in FLOOR_PASSAGE:
        for min_sentence in FLOOR_SENTENCE:
            r, n_in, a, n_off, p, n_p = _curve_point(rows, min_dense, min_sentence)
            chosen = (min_dense, min_sentence) == bot.embedder.relevance_floor
            mark = "  <- chosen" if chosen else ""
            print(
                f"  {min_dense:.2f} {min_sentence:.2f}: refused {r}/{n_in}, "
                f"answered {a}/{n_off}, partial {p}/{n_p}{mark}"
            )


if __name__ == "__main__":
    main()
