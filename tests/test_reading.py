"""One reading of the question, carried on the plan: its parts and what it asks for."""

from __future__ import annotations

import pytest

from assistant.retrieval.query import plan_query


@pytest.mark.parametrize(
    ("question", "parts", "asks"),
    [
        (
            "We have 90 schools. How long does it take, and how do I make it last?",
            ["How long does it take", "how do I make it last?"],
            set(),
        ),
        ("What are the seven tensions?", ["What are the seven tensions?"], {"list"}),
        ("How much did Fulton spend per student?", None, {"figure", "district"}),
        ("Which districts started with ready schools?", None, {"district"}),
        ("Which tension should we tackle first?", None, {"ranking"}),
        ("we spent millions on laptops, what went wrong", None, set()),
        # "how much should" asks how far, unless the question is about money (DEGREE_ASK)
        ("How much should the network office dictate to each school?", None, set()),
        ("Autonomy is wrecking our costs. How much should the office dictate?", None, set()),
        ("How much should we budget for devices?", None, {"figure"}),
        ("How much time should pilots get?", None, {"figure"}),
    ],
)
def test_the_plan_carries_parts_and_what_is_asked(question, parts, asks):
    plan = plan_query(question)
    assert plan.parts == (parts or [question])
    assert set(plan.asks) == asks
    assert plan.vector is None  # embedded by the first reader, once


def test_a_follow_up_is_read_from_its_own_words():
    plan = plan_query(
        "and how much did that cost?",
        [],
    )
    assert "figure" in plan.asks
