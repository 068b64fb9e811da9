"""The stand-in protocol (eval.standin): a chat backend that replays recorded replies, and
the model's search reading (assistant.llm.prompts)."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.llm.prompts import search_from_reply
from eval.standin import MISSING_REPLY, ReplayChatModel, prompt_key


def messages(question: str) -> list:
    return [SystemMessage("Answer from the passages."), HumanMessage(f"<question>{question}")]


def test_a_prompt_without_a_reply_is_recorded_and_answered_not_in_library(tmp_path):
    model = ReplayChatModel(folder=tmp_path)
    asked = messages("Where to pilot?")
    assert model.invoke(asked).text == MISSING_REPLY
    key = prompt_key(asked)
    recorded = (tmp_path / "prompts" / f"{key}.md").read_text(encoding="utf-8")
    assert "===== SYSTEM =====\nAnswer from the passages." in recorded
    assert "===== USER =====\n<question>Where to pilot?" in recorded
    assert model.missing == [key] and model.calls == [key]


def test_a_written_reply_is_replayed_for_exactly_its_prompt(tmp_path):
    (tmp_path / "replies").mkdir()
    key = prompt_key(messages("Where to pilot?"))
    (tmp_path / "replies" / f"{key}.md").write_text("Start with ready schools [1].", "utf-8")
    model = ReplayChatModel(folder=tmp_path)
    assert model.invoke(messages("Where to pilot?")).text == "Start with ready schools [1]."
    assert model.invoke(messages("Where to pilot? ")).text == MISSING_REPLY  # another prompt
    assert prompt_key(messages("a")) == prompt_key(messages("a")) != prompt_key(messages("b"))


def test_the_kept_replies_replay_without_a_missing_prompt():
    """Every recorded question of the kept measurement has its replies (a prompt change that
    alters a hash shows up here as missing replies)."""
    import json
    from pathlib import Path

    for run in ("r3", "r4"):
        folder = Path(__file__).resolve().parent.parent / "eval" / "standin" / run
        replies = {p.stem for p in (folder / "replies").glob("*.md")}
        for name in ("keys-tune.json", "keys-test.json"):
            keys = json.loads((folder / name).read_text(encoding="utf-8"))
            assert keys and all(set(k) <= replies for k in keys.values())


@pytest.mark.parametrize(
    "reply, standalone, queries",
    [
        (
            "QUERY: pilot schools by need\nQUERY: readiness first",
            None,
            ("pilot schools by need", "readiness first"),
        ),
        (
            "STANDALONE: What did Fulton learn?\nQUERY: Fulton lessons",
            "What did Fulton learn?",
            ("Fulton lessons",),
        ),
        (
            "- QUERY: “quoted query”\nQUERY: quoted query\nQUERY: Where to pilot?",
            None,
            ("quoted query",),
        ),
        ("NOT_IN_LIBRARY", None, ()),
        ("", None, ()),
        ("QUERY: " + "x" * 400, None, ()),
        ("\n".join(f"QUERY: q{i}" for i in range(9)), None, ("q0", "q1", "q2")),
    ],
)
def test_search_lines_are_read_and_bad_ones_dropped(reply, standalone, queries):
    reading = search_from_reply(reply, "Where to pilot?", 2000, 3)
    assert reading.standalone == standalone and reading.queries == queries


def test_an_unlabelled_line_is_a_follow_ups_standalone_question():
    reading = search_from_reply("What did Fulton County learn?", "And them?", 2000, 3, True)
    assert reading.standalone == "What did Fulton County learn?" and reading.queries == ()
    assert (
        search_from_reply("What did Fulton County learn?", "And them?", 2000, 3).standalone is None
    )


def test_a_models_search_queries_are_fused_into_the_ranking(bot):
    """A query the model wrote brings up the passages it finds (each embedded on its own,
    not with the question's cached vector)."""
    question = "How did districts decide where to pilot?"
    plan, index = bot.plan(question)
    alone = index.retrieve(plan, 8)
    assert not any("Texas Tech" in s.chunk.text for s in alone.ranked[:10])
    other, _ = bot.plan(question)
    other.queries = ["Raise Your Hand Texas graduate certificate Texas Tech student teachers"]
    assert any("Texas Tech" in s.chunk.text for s in index.retrieve(other, 8).ranked[:10])
    assert {s.chunk.id for s in index.retrieve(other, 8).ranked} >= {
        s.chunk.id for s in alone.ranked
    }  # nothing the question found is lost, only reordered
