"""The framework as data: the catalog `lbw ingest` builds from the white paper's text.

Counts come from reading the paper; every quote, title and figure must be found verbatim
in the passage the record cites.
"""

from collections import Counter

import pytest

from assistant.core import catalog as framework
from assistant.core.domain import TENSIONS

# Examples per tension and side, as the paper lays them out under its "Why …?" headings.
EXPECTED_SIDES = {
    "locus-of-control": {"a": 4, "b": 2, "combine": 1},
    "pace": {"a": 2, "b": 2, "combine": 2},
    "resource-allocation": {"a": 3, "b": 2, "combine": 2},
    "cultivating-capacity": {"a": 2, "b": 2, "combine": 1},
    "strategic-flexibility": {"a": 3, "b": 1, "combine": 1},
    "comprehensiveness": {"a": 2, "b": 2, "combine": 1},
    "sharing-learning": {"a": 2, "b": 1, "combine": 1},
}


@pytest.fixture(scope="module")
def built(prepared):
    return prepared.catalog, {c.id: c for c in prepared.chunks}, prepared.documents


def test_examples_per_tension_and_side(built):
    catalog, _, _ = built
    counts = Counter((e["tension"], e["side"]) for e in catalog["examples"])
    assert counts == Counter(
        {(t, side): n for t, sides in EXPECTED_SIDES.items() for side, n in sides.items()}
    )
    assert len({e["id"] for e in catalog["examples"]}) == len(catalog["examples"]) == 39


def test_example_fields_are_verbatim_in_their_cited_passage(built):
    catalog, chunks, documents = built
    paper = documents["look-both-ways"]["text"]
    for e in catalog["examples"]:
        passage = chunks[e["passage_id"]].text
        for field in ("title", "quote", "leader", "text"):
            if e[field]:
                assert e[field] in passage, (e["id"], field)
        assert e["system"] in paper, e["id"]  # the system as the text writes it
        assert e["leader_system"] is None or e["leader_system"] in paper


def test_systems_and_states_as_the_text_gives_them(built):
    catalog, _, _ = built
    by_title = {e["title"]: e for e in catalog["examples"]}
    assert (by_title["Scaling Through Feeder Patterns"]["system"], "TX") == (
        "Dallas ISD",
        by_title["Scaling Through Feeder Patterns"]["state"],
    )
    fulton = by_title["Using a Readiness Assessment to Efficiently Structure Roll-Out"]
    assert (fulton["system"], fulton["state"]) == ("Fulton County", "GA")
    roots = by_title["Letting Experience Guide Strategic Choices"]  # a school, not a district
    assert roots["system"] == "Roots Elementary"
    assert framework.examples(catalog, system="CPS") == framework.examples(
        catalog, system="Chicago Public Schools"
    )
    assert len(framework.examples(catalog, system="CPS")) == 5
    assert {e["side"] for e in framework.examples(catalog, "pace")} == {"a", "b", "combine"}


def test_benefit_tables_have_every_row_for_both_sides(built):
    catalog, chunks, _ = built
    assert Counter(b["tension"] for b in catalog["benefits"]) == {t.id: 2 for t in TENSIONS}
    for b in catalog["benefits"]:
        passage = chunks[b["passage_id"]].text
        for row in ("teacher", "school_leader", "district"):
            assert b[row] and b[row] in passage, (b["tension"], b["side"], row)


def test_lessons_and_questions_are_verbatim_and_complete(built):
    catalog, chunks, _ = built
    assert {lesson["tension"] for lesson in catalog["lessons"]} == {t.id for t in TENSIONS}
    for lesson in catalog["lessons"]:
        assert lesson["text"] in chunks[lesson["passage_id"]].text
    per_source = Counter(q["source"] for q in catalog["questions"])
    assert per_source["guide-1"] == 10 and per_source["guide-2"] == 7
    assert {q["category"] for q in catalog["questions"] if q["source"] == "guide-1"} == {
        "Driving Values",
        "Context, Culture, & Climate",
        "Desired Outcomes",
    }
    reflection = [q for q in catalog["questions"] if q["source"] == "reflection-questions"]
    assert {q["tension"] for q in reflection} == {t.id for t in TENSIONS}
    for q in catalog["questions"]:
        first_line = q["text"].split("? ")[0]
        assert first_line in " ".join(chunks[q["passage_id"]].text.split()), q["text"]
    assert [s["tension"] for s in catalog["spectrums"]] == [t.id for t in TENSIONS]


def test_survey_findings_read_from_the_text(built):
    catalog, chunks, documents = built
    by_tension = {f["tension"]: f for f in catalog["findings"]}
    assert set(by_tension) == {t.id for t in TENSIONS}
    ra = by_tension["resource-allocation"]
    assert (ra["n"], ra["median"], ra["mean"]) == (86, 4, 3.3)
    assert (ra["lean_a"], ra["lean_b"], ra["top_priority"], ra["devoted_resources"]) == (
        0.26,
        0.54,
        0.52,
        0.86,
    )
    assert any("Large and urban districts" in p for p in ra["patterns"])
    assert [f["median"] for f in catalog["findings"]] == [3, 4, 4, 4, 4, 4, 2]
    assert [f["mean"] for f in catalog["findings"]] == [2.8, 3.6, 3.3, 3.3, 3.7, 3.2, 2.4]
    # Every figure is backed by a verbatim sentence in a cited passage of its document.
    for f in catalog["findings"]:
        for field, source in f["sources"].items():
            passage = chunks[source["passage_id"]]
            assert source["text"] in passage.text, (f["tension"], field)
            value = f.get(field.removesuffix("_blog"))
            if isinstance(value, float) and field.startswith(("lean", "top", "devoted")):
                shown = f"{round(value * 100)}%"
                assert shown in source["text"] or field.endswith("_blog"), (f["tension"], field)
        for pattern in f["patterns"]:  # a list-introducing sentence is kept with its items
            head, _, items = pattern.partition(": ")
            for piece in [head, *(items.split("; ") if items else [])]:
                assert piece in documents["look-both-ways"]["text"], piece


def test_disagreements_between_sources_are_kept_with_a_note(built):
    catalog, _, _ = built
    by_tension = {f["tension"]: f for f in catalog["findings"]}
    pace = by_tension["pace"]
    assert pace["lean_b"] == 0.58  # the paper's figure ...
    assert any("58%" in n and "68%" in n for n in pace["notes"])  # ... and the blog's, noted
    assert pace["sources"]["lean_b_blog"]["doc_id"] == "tla-blog-2018"
    capacity = by_tension["cultivating-capacity"]
    assert capacity["devoted_resources"] is None  # the garbled "86% … to 90%" sentence
    assert capacity["devoted_resources_readings"] == [0.86, 0.9]
    assert any("86%" in n and "90%" in n for n in capacity["notes"])


def test_filters_reject_unknown_values(built):
    catalog, _, _ = built
    with pytest.raises(framework.InvalidFilter, match="Unknown tension"):
        framework.examples(catalog, tension="speed")
    with pytest.raises(framework.InvalidFilter, match="side"):
        framework.examples(catalog, side="c")
    assert framework.examples(catalog, system="Atlantis") == []
