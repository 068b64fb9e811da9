"""The reply check on its labelled set (eval/verifier/): faithful stand-in sentences that blind
graders confirmed, and planted faults. The real model and the real library: the meaning
check uses the index's own embedder, and every item names its passages by id."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.core.settings import Settings
from eval.verifier import judge, read, score

pytestmark = pytest.mark.integration

SET = Path(__file__).resolve().parent.parent / "eval" / "verifier"


@pytest.fixture(scope="module")
def bot(real_store, corpus_dir):
    from assistant.service import load_assistant

    return load_assistant(Settings(corpus_dir=corpus_dir, store_dir=real_store))


@pytest.fixture(scope="module")
def items():
    names = ("faithful.jsonl", "planted.jsonl", "outside.jsonl")
    return [i for name in names for i in read(SET / name)]


def test_the_set_is_whole_and_every_passage_is_in_the_library(bot, items):
    faithful = [i for i in items if i["label"] == "faithful"]
    faults = [i for i in items if i["label"] == "fault"]
    assert len(faithful) >= 300 and len(faults) >= 300  # issue 22's minimum
    kinds = {i["kind"] for i in faults}
    assert {"wrong-district", "invented-figure", "other-finding", "altered-quote"} <= kinds
    assert {"spliced-quote", "wrong-passage", "instruction"} <= kinds
    assert {"outside-outside", "outside-added"} <= kinds  # outside knowledge, by blind writers
    assert all(p in bot.index.by_id for i in items for p in i["passages"])
    assert {i["half"] for i in items} == {"tune", "test"}


@pytest.mark.parametrize("half", ["tune", "test"])
def test_the_check_keeps_faithful_sentences_and_catches_planted_faults(bot, items, half):
    """Measured 2026-12-06 with the outside-knowledge faults: tune 2.7 % removed / 92.0 %
    caught; test 5.2 % / 90.8 % (the issue's targets, 1 % and 95 %, are not met; see the
    README). A change that removes more faithful sentences or lets more faults through
    fails here."""
    mine = [i for i in items if i["half"] == half]
    got = score(mine, judge(mine, bot))
    limits = {"tune": (0.024, 0.919), "test": (0.053, 0.908)}[half]
    assert got["faithful_removed_rate"] <= limits[0], got
    assert got["faults_caught_rate"] >= limits[1], got


@pytest.mark.parametrize("half", ["tune", "test"])
def test_with_the_models_second_reading_from_the_kept_stand_in_replies(bot, items, half, tmp_path):
    """As with a model configured: the borderline sentences are re-read, answered by the
    stand-in judges' kept replies (eval/standin/judge, written for the judge prompt that
    counts advice doing only what the passages describe as supported). Measured 2026-12-06:
    tune 0.0 % removed / 98.6 % caught, test 0.9 % (2/230) / 96.6 % (issue 22's 1 % and 95 %
    met); 1.3 % on test before a lead-in label's words and simplemma's lexicon entered the
    name check (fitted on round v6), 1.7 % under the previous judge prompt. A change to the
    check, the prompt or BORDER that loses a reply, removes more faithful sentences or lets
    more faults through fails here."""
    shutil.copytree(SET.parent / "standin" / "judge" / "replies", tmp_path / "replies")
    mine = [i for i in items if i["half"] == half]
    stats: dict[str, int] = {}
    got = score(mine, judge(mine, bot, replies=tmp_path, stats=stats))
    assert stats["reread"] >= 100 and stats.get("no_reply", 0) == 0, stats
    limits = {"tune": (0.001, 0.985), "test": (0.009, 0.965)}[half]
    assert got["faithful_removed_rate"] <= limits[0], got
    assert got["faults_caught_rate"] >= limits[1], got


# Fresh tune rounds (every item tune): the cited sentences of new stand-in answers to written
# questions no measurement had used, each labelled by a new blind grader, and the faults
# planted from them; with the faithful-removed and caught limits, words only and with the
# stand-in judges' second reading (eval/standin/judge-<round>), measured 2026-12-06.
# v5: 62 answers, eight graders; words only 2.3 % removed / 98.6 % caught, with the second
#     reading 0.6 % / 98.6 % (1.2 % / 98.5 % under the previous judge prompt).
# v6: 69 answers (48 questions on passages that quote or name school systems, 24 on what
#     the library lacks), seven graders; words only 2.1 % / 97.6 %, with the second reading
#     1.3 % / 98.1 %; 3.0 % and 2.1 % before the name check's fix this round found (lead-in
#     labels: "Wider study:", "Timeline:", "... phase: Besides").
# Every sentence the second reading still removes is a close call the stand-in judge read as
# unsupported.
FRESH = {
    "v5": (1200, (0.023, 0.986), (0.007, 0.986)),
    "v6": (1150, (0.022, 0.976), (0.013, 0.98)),
}


@pytest.mark.parametrize("round_", sorted(FRESH))
def test_fresh_tune_sentences_words_only_and_with_the_second_reading(bot, round_, tmp_path):
    size, words_only, reread = FRESH[round_]
    names = (f"faithful-{round_}.jsonl", f"planted-{round_}.jsonl")
    fresh = [i for name in names for i in read(SET / name)]
    assert {i["half"] for i in fresh} == {"tune"} and len(fresh) >= size
    assert all(p in bot.index.by_id for i in fresh for p in i["passages"])
    got = score(fresh, judge(fresh, bot))
    assert got["faithful_removed_rate"] <= words_only[0], got
    assert got["faults_caught_rate"] >= words_only[1], got
    shutil.copytree(SET.parent / "standin" / f"judge-{round_}" / "replies", tmp_path / "replies")
    stats: dict[str, int] = {}
    got = score(fresh, judge(fresh, bot, replies=tmp_path, stats=stats))
    assert stats["reread"] >= 100 and stats.get("no_reply", 0) == 0, stats
    assert got["faithful_removed_rate"] <= reread[0], got
    assert got["faults_caught_rate"] >= reread[1], got
