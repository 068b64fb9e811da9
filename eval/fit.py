"""Fit the few numbers the pipeline is tuned by, on the blind TUNE split only (GUIDE §6).

    python -m eval.fit            # needs a built index (LBW_STORE_DIR)
    python -m eval.fit --floor    # only the relevance floor (e.g. for LBW_EMBEDDER=mpnet)
    python -m eval.fit --adapter  # only the query adapter's settings

Prints, for each candidate value, the tune split's figures, so the chosen value and the
trade-off around it can be read and re-checked:
- `retrieval.library.PARENT_CHARS`: how long a section may be to come back whole;
- `retrieval.query.CARRIED_ANSWER_CHARS`: how much of the previous answer a follow-up's
  search carries;
- `retrieval.hybrid.SENTENCE_WEIGHT`: the closest-sentence ranking's vote in the fusion;
- `retrieval.hybrid.QUESTION_WEIGHT` and `QUESTION_MIN`: the nearest-written-question
  ranking's vote, and the cosine below which a written question does not vote;
- the embedder's `relevance_floor` (best passage, best sentence): below both, a question is
  off the library's subject; with the embedder's `question_floor` (the nearest written
  question) as a third measure. The curve is in-library questions refused against
  off-library ones declined;
- `ingest.adapter`'s STRENGTH, TEMPERATURE and EPOCHS: the query adapter refitted from the
  live build's written questions at each value (tune, development and held-out: the chosen
  value must keep the latter two at 0.95 or above);
- the embedder's `confident_margin`: how far below every floor a refusal is confident
  (sure enough to skip a language model); chosen so no in-library tune question is
  confidently declined.
The test split (W3-W8) is never read here.
"""

from __future__ import annotations

import argparse

import numpy as np

from assistant.answer import scope as scoping
from assistant.core.settings import Settings
from assistant.retrieval import hybrid, library, query
from assistant.service import load_assistant
from assistant.storage.builds import open_live
from assistant.storage.questions import QUESTIONS, TRAINING, read_questions
from eval.questions import load_set, named_sets
from eval.scoring import evaluate
from ingest import adapter as adapting


def _retrieval(bot, questions, adapter=None) -> float:
    bot._index = library.open_index(bot.settings, bot.embedder)  # fresh caches per value
    if adapter is not None:
        bot._index.retriever.adapter = adapter
    return evaluate(lambda q, h, k: bot.retrieve(q, h, k=k), questions, k=8)["hit_rate"]


def _scope_rows(bot, questions):
    """Per question: the outcome rules decide whatever the floor (None where the floor
    decides), its nearness (None when a precheck declined it) and what a partial lacks."""
    rows = []
    for q in questions:
        plan, index = bot.plan(q.question, q.history)
        if scoping.precheck(plan, index) is not None:
            rows.append((q, "not_in_library", None, ""))
            continue
        found = index.retrieve(plan, bot.settings.top_k)
        closest = scoping.closest_sentences(plan, found, index, keep=scoping.FIGURE_AMONG)
        near = scoping.nearness(found, closest, index)
        emb = bot.embedder
        saved = emb.relevance_floor
        emb.relevance_floor = None  # the rules' outcome, the floor aside
        try:
            decision = scoping.decide(found, index)
        finally:
            emb.relevance_floor = saved
        rows.append((q, decision.outcome, near, decision.missing))
    return rows


def _curve_point(rows, floor, question_floor, margin=None):
    """(in-library refused, n in, off-library answered, n off, partial labelled, n partial,
    in-library confidently declined, off-library confidently declined)."""
    refused = answered_off = labelled = n_in = n_off = n_partial = sure_in = sure_off = 0
    for q, fixed, near, _missing in rows:
        sure = near is None
        if near is None:
            outcome = fixed
        elif scoping.below_floor(near, floor, question_floor):
            outcome = "not_in_library"
            sure = margin is not None and scoping.below_floor(near, floor, question_floor, margin)
        else:
            outcome = fixed
        if q.scope == "not_in_library":
            n_off += 1
            answered_off += outcome != "not_in_library"
            sure_off += sure and outcome == "not_in_library"
        else:
            n_in += 1
            refused += outcome == "not_in_library"
            sure_in += sure and outcome == "not_in_library"
            if q.scope == "partial":
                n_partial += 1
                labelled += outcome == "partial"
    return refused, n_in, answered_off, n_off, labelled, n_partial, sure_in, sure_off


# The floor's grid: each embedder spreads cosines differently (mpnet's unrelated texts sit
# lower than MiniLM's), so the grid is wide enough for both.
FLOOR_PASSAGE = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
FLOOR_SENTENCE = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", action="store_true", help="fit only the relevance floor")
    parser.add_argument("--adapter", action="store_true", help="fit only the query adapter")
    args = parser.parse_args(argv)
    bot = load_assistant(Settings.from_env())
    tune = load_set(named_sets("tune")["tune"])
    print(f"embedder: {bot.embedder.model_id}")
    if args.adapter:
        _fit_adapter(bot, tune)
        return
    if not args.floor:
        _fit_retrieval(bot, tune)
        _fit_adapter(bot, tune)
    _fit_floor(bot, tune)


ADAPTER_GRID = (  # (STRENGTH, TEMPERATURE, EPOCHS)
    (0.001, 0.05, 30),
    (0.003, 0.05, 30),
    (0.01, 0.05, 30),
    (0.03, 0.05, 30),
    (0.1, 0.05, 30),
    (0.01, 0.02, 30),
    (0.01, 0.1, 30),
    (0.01, 0.05, 15),
    (0.01, 0.05, 60),
)


def _fit_adapter(bot, tune) -> None:
    """The adapter refitted at each grid point from the live build's questions (the index's
    and the training ones), as ingest fits it."""
    files = open_live(bot.settings, with_embeddings=True)
    assert files.path is not None
    written = [
        q
        for name in (QUESTIONS, TRAINING)
        if (q := read_questions(files.path, len(files.chunks), name)) is not None
    ]
    if not written:
        print("query adapter: the live build has no written questions")
        return
    guards = {name: load_set(paths) for name, paths in named_sets().items() if name in GUARDS}
    chosen = (adapting.STRENGTH, adapting.TEMPERATURE, adapting.EPOCHS)
    print("query adapter (STRENGTH, TEMPERATURE, EPOCHS): all evidence in the top 8")
    none = np.eye(files.embeddings.shape[1], dtype=np.float32)
    for point in (None, *ADAPTER_GRID):
        if point is None:
            matrix, label = none, "no adapter"
        else:
            adapting.STRENGTH, adapting.TEMPERATURE, adapting.EPOCHS = point
            matrix = adapting.fit_build_adapter(files.chunks, files.embeddings, written)
            label = str(point)
        figures = [f"tune {_retrieval(bot, tune, matrix):.3f}"] + [
            f"{name} {_retrieval(bot, qs, matrix):.3f}" for name, qs in guards.items()
        ]
        mark = "  <- chosen" if point == chosen else ""
        print(f"  {label}: {', '.join(figures)}{mark}")
    adapting.STRENGTH, adapting.TEMPERATURE, adapting.EPOCHS = chosen
    bot._index = library.open_index(bot.settings, bot.embedder)


GUARDS = ("dev", "heldout")  # never fitted on: a value that drops either below 0.95 is out


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
    chosen = (hybrid.QUESTION_WEIGHT, hybrid.QUESTION_MIN)
    print("QUESTION_WEIGHT, QUESTION_MIN: all evidence in the top 8 (tune)")
    for weight in (0.0, 1.0, 2.0, 3.0, 4.0):
        for least in (0.0, 0.4, 0.5, 0.55, 0.6, 0.7) if weight else (0.0,):
            hybrid.QUESTION_WEIGHT, hybrid.QUESTION_MIN = weight, least
            mark = "  <- chosen" if (weight, least) == chosen else ""
            print(f"  {weight:>4} {least:>4}: {_retrieval(bot, tune):.3f}{mark}")
    hybrid.QUESTION_WEIGHT, hybrid.QUESTION_MIN = chosen


QUESTION_FLOOR = (None, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2)


def _fit_floor(bot, tune) -> None:
    rows = _scope_rows(bot, tune)
    emb = bot.embedder
    print(
        "relevance_floor (passage, sentence) and question_floor: in-library refused, "
        "off-library declined, partial labelled"
    )
    for qf in QUESTION_FLOOR:
        for min_dense in FLOOR_PASSAGE:
            for min_sentence in FLOOR_SENTENCE:
                r, n_in, a, n_off, p, n_p, _, _ = _curve_point(rows, (min_dense, min_sentence), qf)
                chosen = (
                    min_dense,
                    min_sentence,
                ) == emb.relevance_floor and qf == emb.question_floor
                mark = "  <- chosen" if chosen else ""
                print(
                    f"  {min_dense:.2f} {min_sentence:.2f} {qf}: refused {r}/{n_in}, "
                    f"declined {n_off - a}/{n_off}, partial {p}/{n_p}{mark}"
                )
    print("confident_margin: in-library / off-library questions confidently declined")
    for margin in MARGINS:
        *_, sure_in, sure_off = _curve_point(rows, emb.relevance_floor, emb.question_floor, margin)
        mark = "  <- chosen" if margin == emb.confident_margin else ""
        print(f"  {margin:.2f}: in-library {sure_in}, off-library {sure_off}{mark}")


if __name__ == "__main__":
    main()
