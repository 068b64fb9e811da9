"""The scope decision (assistant.answer.scope): what refuses, what is partly answered, and
that no decision rests on one incidental word.

The rules run on the real bundled library (the session `store`, HashingEmbedder). The
similarity floor belongs to a calibrated model, so it is tested on the real one in
tests/test_integration.py; the hashing fake is uncalibrated and refuses nothing on
similarity alone.
"""

from __future__ import annotations

import pytest

from assistant.answer import scope
from assistant.core.text import TermStats
from tests.fakes import HashingEmbedder


def outcome(bot, question: str) -> scope.ScopeDecision:
    plan, index = bot.plan(question)
    found, decision = bot.scope(plan, index)
    return decision


@pytest.mark.parametrize(
    "question",
    [
        "I have to put a five-year plan in front of the board in March. How do I keep it flexible?",
        "My principals only show the wins. Nobody admits what flopped. How do we share failures?",
        "couple of my HS teachers want to ditch the bell schedule. how do other districts handle it?",
        "We spent millions on devices and classrooms look the same. What did we get wrong?",
        "Our budget office and IT run in silos and pilots get stuck. How do others organise this?",
        "What did Fulten County do with its readiness assesment?",
        "How did Gwinnet County get coaches into every school?",
    ],
    ids=["month", "sentence-start", "acronym", "money-word", "budget-word", "typo", "typo-2"],
)
def test_an_incidental_name_or_money_word_refuses_nothing(bot, question):
    assert outcome(bot, question).outcome != scope.NOT_IN_LIBRARY


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("Did Houston ISD do anything like this?", "“Houston”"),
        ("what did Des Moines Public Schools do to scale competency based learning?", "“Des”"),
        ("What does Texas law say about seat-time waivers?", "Texas's laws"),
        ("How much does Edgenuity charge per student license?", "no prices"),
        # a product the library names (as a summit host), or a user's document praises
        ("Should every district purchase Edgenuity now?", "does not rate or recommend"),
        ("Which LMS vendor should a district of 40 schools buy?", "does not rate or recommend"),
    ],
    ids=["district", "district-long", "state-law", "product-price", "buy-product", "pick"],
)
def test_what_the_library_never_discusses_is_not_in_the_library(bot, question, says):
    decision = outcome(bot, question)
    assert decision.outcome == scope.NOT_IN_LIBRARY and not decision.in_scope
    assert says in decision.message


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("Give me a ranked list of which of the seven decisions to tackle first.", "rank"),
        (
            "Give me a realistic year-by-year timeline for getting all our schools there.",
            "timeline",
        ),
        ("Did test scores actually go up in districts that went blended?", "outcome results"),
        (
            "What language should we push for in the teachers' contract to flex schedules?",
            "contract",
        ),
    ],
    ids=["ranking", "timeline", "outcomes", "contract"],
)
def test_asking_for_what_the_library_does_not_hold_is_partly_answered(bot, question, missing):
    decision = outcome(bot, question)
    assert decision.outcome == scope.PARTIAL and decision.in_scope
    assert decision.missing.startswith("The library ") and missing in decision.missing
    answer = bot.ask(question)
    assert answer.to_dict()["scope"] == "partial" and answer.in_scope
    assert answer.answer.startswith(decision.missing)  # said first, then the closest material


def test_a_misspelt_name_is_known_and_a_real_unknown_one_is_not():
    assert scope.misspelt("fulten") and scope.misspelt("baltimoore") and scope.misspelt("gwinnet")
    assert scope.misspelt("middeltown") and scope.misspelt(
        "acceleratr", ["The Learning Accelerator"]
    )
    assert not scope.misspelt("houston") and not scope.misspelt("austin")
    assert not scope.misspelt("ohio")  # too short to tell a misspelling from another name


def test_unknown_names_skip_sentence_starts_and_calendar_words():
    stats = TermStats(["Districts pilot blended learning with teachers."])
    found = scope.unknown_names(
        "We start in August. Nobody objects, but Zenith Academy does.", stats
    )
    assert found == ["Zenith", "Academy"]


@pytest.mark.parametrize(
    ("name", "question", "focal"),
    [
        ("Houston", "Did Houston ISD do anything like this?", True),
        ("Ohio", "What is Ohio's rule on seat time?", True),
        ("Montana", "Does Montana have a seat time waiver?", True),
        (
            "HS",
            "A couple of my HS teachers want to move at their own pace; how do others do it?",
            False,
        ),
        (
            "Zenith",
            "Our board visited Zenith last spring and loved it; how do we start small?",
            False,
        ),
    ],
)
def test_a_name_is_focal_only_when_the_question_is_about_it(name, question, focal):
    assert scope.is_focal(name, question) is focal


def test_an_uncalibrated_embedder_refuses_nothing_on_similarity(bot):
    assert HashingEmbedder.relevance_floor is None
    assert outcome(bot, "How do districts decide where to pilot?").outcome == scope.ANSWERED


def test_an_unknown_organisation_the_question_is_about_is_not_in_the_library(bot):
    """ORGANISATION: a name followed by "Public Schools", "ISD", "District" … is an
    organisation, so the question is about it, however long the question (no figure of the
    blind sets moves without it; this is what it guards)."""
    decision = outcome(bot, "Tell me about the pilots in Springfield Public Schools")
    assert decision.outcome == scope.NOT_IN_LIBRARY
