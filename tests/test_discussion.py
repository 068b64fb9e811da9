"""Discussion prompts: the paper's reflection questions verbatim, and prompts tailored to a
leader's context that quote only library text and cite where it came from."""

from __future__ import annotations

import json
import re

import pytest

from assistant.core.domain import TENSIONS
from assistant.framework import discussion
from assistant.framework.discussion import (
    Context,
    InvalidContext,
    discussion_prompts,
    parse_context,
)

LARGE_URBAN = Context("district", 600, "urban", 0.8, 3)
SMALL_AFFLUENT = Context("district", 8, "suburban", 0.05, 1)


@pytest.fixture(scope="module")
def framework_data(prepared):
    return prepared.catalog, {c.id: c for c in prepared.chunks}


def _norm(text: str) -> str:
    return " ".join(text.split())


def assert_cited_verbatim(prompts, chunks):
    for p in prompts:
        assert p.citations, p.text
        for c in p.citations:
            assert c.text == chunks[c.id].text  # the full passage, as stored
            assert c.title and c.section and c.pages
        for quote in p.quotes:
            assert any(_norm(quote) in _norm(c.text) for c in p.citations), (quote, p.text)
            assert quote in p.text
        for marker in re.findall(r"\[(\d+)\]", p.text):
            assert int(marker) in {c.n for c in p.citations}, p.text


def test_every_tension_gets_its_reflection_questions_verbatim(framework_data):
    catalog, chunks = framework_data
    prompts = discussion_prompts(catalog, chunks)
    for t in TENSIONS:
        expected = [
            q["text"]
            for q in catalog["questions"]
            if q["tension"] == t.id and q["source"] == "reflection-questions"
        ]
        got = [p.text for p in prompts if p.tension == t.id]
        assert expected and got == expected, t.id
    assert {p.kind for p in prompts} == {"from-library"}  # no context: nothing tailored
    assert_cited_verbatim(prompts, chunks)


def test_large_urban_resource_allocation_gets_the_need_finding(framework_data):
    catalog, chunks = framework_data
    prompts = discussion_prompts(catalog, chunks, ["resource-allocation"], LARGE_URBAN)
    texts = [p.text for p in prompts]
    assert "Who and what determines “need” or “readiness?”" in texts
    tailored = [p for p in prompts if p.kind == "tailored"]
    need = [p for p in tailored if any("Large and urban districts" in q for q in p.quotes)]
    assert need and need[0].lean == "a" and "Prioritize Need" in need[0].why
    assert "Survey Data" in need[0].citations[0].section
    assert_cited_verbatim(prompts, chunks)


@pytest.mark.parametrize(
    ("tension", "large_urban", "small_affluent"),
    [
        ("resource-allocation", "a", "b"),  # need vs. readiness
        ("cultivating-capacity", "b", "a"),  # low-income build internally; wealthier buy
    ],
)
def test_tailoring_moves_with_the_context(framework_data, tension, large_urban, small_affluent):
    catalog, chunks = framework_data
    leans = {}
    for name, ctx in (("large_urban", LARGE_URBAN), ("small_affluent", SMALL_AFFLUENT)):
        prompts = discussion_prompts(catalog, chunks, [tension], ctx)
        survey = [p for p in prompts if p.basis == "survey-pattern"]
        assert survey, name
        leans[name] = {p.lean for p in survey if p.lean}
        # the example chosen to look the other way sits on the side the survey does not lean to
        others = [p for p in prompts if "trying this other side" in p.text]
        assert others and all(p.basis == "example" and p.lean not in leans[name] for p in others)
        assert_cited_verbatim(prompts, chunks)
    assert leans == {"large_urban": {large_urban}, "small_affluent": {small_affluent}}


def test_examples_of_a_similar_size_are_found_in_the_text(framework_data):
    catalog, chunks = framework_data
    big = discussion_prompts(catalog, chunks, ["resource-allocation"], Context(schools=600))
    sized = [p for p in big if "similar" in p.text]
    assert len(sized) == 1 and "Chicago Public Schools" in sized[0].text
    assert "660 schools" in sized[0].quotes[-1] and "600" in sized[0].why
    mid = discussion_prompts(catalog, chunks, ["pace"], Context(schools=40))
    sized = [p for p in mid if "similar" in p.text]
    assert len(sized) == 1 and "43 schools" in sized[0].quotes[-1]
    assert_cited_verbatim(big + mid, chunks)


def test_the_note_picks_an_example_that_shares_its_words(framework_data):
    catalog, chunks = framework_data
    ctx = Context(note="Our coaches visit classrooms and we need better data on what works.")
    prompts = discussion_prompts(catalog, chunks, ["comprehensiveness"], ctx)
    noted = [p for p in prompts if "what you wrote" in p.text]
    assert len(noted) == 1 and "Coaching" in noted[0].text and "coach" in noted[0].why
    assert_cited_verbatim(prompts, chunks)


def test_tailored_prompts_state_no_number_the_library_or_context_did_not_give(framework_data):
    catalog, chunks = framework_data
    for ctx in (LARGE_URBAN, SMALL_AFFLUENT, Context("cmo", 40, "mixed", 0.6, 5)):
        for p in discussion_prompts(catalog, chunks, None, ctx):
            if p.kind != "tailored":
                continue
            allowed = " ".join(c.text for c in p.citations) + json.dumps(ctx.to_dict())
            for number in re.findall(r"(?<!\[)\b\d+(?:\.\d+)?\b(?!\])", p.text):
                assert number in allowed, (number, p.text)


def test_every_tension_gets_tailored_prompts_for_some_context(framework_data):
    catalog, chunks = framework_data
    contexts = (LARGE_URBAN, SMALL_AFFLUENT, Context("cmo", 40, "rural", 0.6, 5))
    for t in TENSIONS:
        tailored = [
            p
            for ctx in contexts
            for p in discussion_prompts(catalog, chunks, [t.id], ctx)
            if p.kind == "tailored"
        ]
        assert tailored, t.id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"size": 3}, "unknown key(s) size"),
        ({"schools": "many"}, "schools must be a whole number"),
        ({"schools": 0}, "schools must be a whole number"),
        ({"frl_share": 80}, "frl_share must be a number from 0 to 1"),
        ({"locale": "coastal"}, "locale must be one of urban, suburban, rural, mixed"),
        ({"system_type": "network"}, "system_type must be one of"),
        ({"years_scaling": -1}, "years_scaling must be a number"),
        ({"note": 5}, "note must be text"),
    ],
)
def test_bad_contexts_are_refused_clearly(data, message):
    with pytest.raises(InvalidContext, match=re.escape(message)):
        parse_context(data)


def test_context_reads_and_describes(tmp_path):
    path = tmp_path / "ctx.json"
    path.write_text(json.dumps(LARGE_URBAN.to_dict()), encoding="utf-8")
    ctx = discussion.read_context(path)
    assert ctx == LARGE_URBAN
    assert (
        ctx.describe()
        == "urban district of 600 schools, 80% free and reduced lunch, 3 years scaling"
    )
    assert discussion.context_traits(ctx) == {"very-large", "urban", "high-frl"}
    path.write_bytes(b"{\xff}")
    with pytest.raises(InvalidContext, match="not valid UTF-8 JSON"):
        discussion.read_context(path)
