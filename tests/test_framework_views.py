"""The rules behind the Examples and Survey pages, without Streamlit: filtering and search of
the district examples, and the survey chart and its citations, over a slice of the real
catalog (tests/catalog_sample.json)."""

from __future__ import annotations

import copy

import pytest

from assistant.app import example_table as et
from assistant.core.domain import TENSION_BY_ID
from assistant.framework.charts import (
    cited_markdown,
    has_lean_shares,
    survey_citations,
    survey_figure,
)
from ingest.catalog import _lead_span
from tests.fakes import CATALOG_SAMPLE

MESA = "System-Wide Definition of Blended or Personalized Learning"
SOFT_LAUNCH = "Using a “Soft Launch” to Gather Evidence of Success"
COMMUNITY = "Engaging the Community to Build Future Momentum"
FULTON = "Using a Readiness Assessment to Efficiently Structure Roll-Out"


@pytest.fixture
def examples():
    return copy.deepcopy(CATALOG_SAMPLE["examples"])


@pytest.fixture
def findings():
    return {f["tension"]: copy.deepcopy(f) for f in CATALOG_SAMPLE["findings"]}


def titles(records) -> list[str]:
    return [r["title"] for r in records]


def test_sample_covers_what_the_pages_must_handle(examples, findings):
    assert {r["side"] for r in examples} == {"a", "b", "combine"}
    assert titles(examples) == [MESA, SOFT_LAUNCH, COMMUNITY, FULTON]
    assert findings["locus-of-control"]["lean_a"] is None and findings["pace"]["notes"]


@pytest.mark.parametrize(
    ("facet", "values", "expected"),
    [
        ("tensions", ["pace"], [SOFT_LAUNCH, COMMUNITY]),
        ("tensions", ["pace", "resource-allocation"], [SOFT_LAUNCH, COMMUNITY, FULTON]),
        ("sides", ["b"], [SOFT_LAUNCH, FULTON]),
        ("sides", ["combine"], [COMMUNITY]),
        ("states", ["CO"], [MESA, COMMUNITY]),
        ("states", ["GA", "IL"], [SOFT_LAUNCH, FULTON]),
        # Led by Chicago (the soft launch), or naming it (Mesa Valley's story cites CPS).
        ("systems", ["Chicago Public Schools"], [MESA, SOFT_LAUNCH]),
        ("systems", ["Fulton County Schools"], [FULTON]),
    ],
)
def test_each_filter_narrows_to_the_matching_examples(examples, facet, values, expected):
    assert titles(et.filter_examples(examples, **{facet: values})) == expected


def test_filters_combine_across_facets(examples):
    found = et.filter_examples(examples, tensions=["pace"], states=["CO"])
    assert titles(found) == [COMMUNITY]
    assert et.filter_examples(examples, sides=["a"], states=["IL"]) == []
    assert et.filter_examples(examples) == examples


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Connors", [SOFT_LAUNCH]),  # leader
        ("heather van looy", [FULTON]),
        ("north star", [MESA]),  # the quote, any case
        ("“The vision has to be your North Star.”", [MESA]),  # curly quotes typed or pasted
        ("CPS", [MESA, SOFT_LAUNCH]),  # a name the library uses for Chicago
        ("soft launch evidence", [SOFT_LAUNCH]),  # every word, in any order
        ("soft launch fulton", []),
        ("   ", [MESA, SOFT_LAUNCH, COMMUNITY, FULTON]),
    ],
)
def test_search_matches_every_word_over_what_a_reader_sees(examples, query, expected):
    assert titles(et.search_examples(examples, query)) == expected


def test_search_reads_the_story_text(examples):
    word = "readiness assessment"
    assert word in examples[3]["text"].lower()
    assert titles(et.search_examples(examples, word.upper())) == [FULTON]


def test_facets_and_rows(examples):
    options = et.facets(examples)
    assert options["states"] == ["CO", "GA", "IL"]
    assert "Chicago Public Schools" in options["systems"]
    assert "Henry County Schools" in options["systems"]  # named in Mesa Valley's story
    row = et.rows(examples)[1]
    assert row == {
        "Tension": "2. Fast and Furious vs. Slow and Steady",
        "Side": "Slow and Steady",
        "System": "Chicago Public Schools",
        "State": "IL",
        "Leader": "Kevin Connors",
        "Strategy": SOFT_LAUNCH,
    }
    assert et.rows(examples)[2]["Side"] == "Combining both"


def test_table_key_changes_with_the_listed_examples(examples):
    key = et.table_key(examples)
    assert key == et.table_key(copy.deepcopy(examples))
    assert key != et.table_key(examples[:3])
    assert key != et.table_key(list(reversed(examples)))


def trace(fig, meta):
    """The one trace drawing `meta` (a catalog field, or a list of them for one bar trace)."""
    found = [t for t in fig.data if (list(t.meta) if isinstance(t.meta, tuple) else t.meta) == meta]
    assert len(found) == 1, meta
    return found[0]


def test_pace_chart_carries_the_shares_median_and_mean(findings):
    pace = TENSION_BY_ID["pace"]
    fig = survey_figure(findings["pace"], pace)
    lean_a, middle, lean_b = (trace(fig, m) for m in ("lean_a", "middle", "lean_b"))
    assert (lean_a.name, list(lean_a.x), list(lean_a.text)) == ("Fast and Furious", [16.0], ["16%"])
    assert (lean_b.name, list(lean_b.x)) == ("Slow and Steady", [58.0])
    assert (middle.name, list(middle.x)) == ("In the middle", [26.0])
    assert list(trace(fig, "median").x) == [4] and trace(fig, "median").name == "Median 4"
    assert list(trace(fig, "mean").x) == [3.6] and trace(fig, "mean").name == "Mean 3.6"
    bars = trace(fig, ["top_priority", "devoted_resources"])
    assert list(bars.x) == [45.0, 88.0]
    assert list(bars.y) == ["Top priority", "Devoted resources"]
    ticks = fig.layout.xaxis2.ticktext
    assert ticks[0] == "1 Fast and Furious" and ticks[-1] == "5 Slow and Steady"


def test_chart_never_estimates_a_share_the_text_does_not_give(findings):
    locus = findings["locus-of-control"]
    fig = survey_figure(locus, TENSION_BY_ID["locus-of-control"])
    # No shares at all: no lean row (no full-width "Not reported" bar); the scale comes first.
    assert not has_lean_shares(locus)
    assert not [t for t in fig.data if t.meta in ("lean_a", "middle", "lean_b")]
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("Self-rating") and not any("lean" in t for t in titles)
    assert list(trace(fig, "median").x) == [3] and list(trace(fig, "mean").x) == [2.8]
    assert fig.layout.xaxis.ticktext[0] == "1 Centralized"

    one_side = dict(findings["pace"], lean_a=None)
    middle = trace(survey_figure(one_side, TENSION_BY_ID["pace"]), "middle")
    assert (middle.name, list(middle.x)) == ("In the middle or not reported", [42.0])


def test_garbled_figure_is_drawn_as_both_readings(findings):
    garbled = dict(findings["pace"], devoted_resources=None, devoted_resources_readings=[0.86, 0.9])
    fig = survey_figure(garbled, TENSION_BY_ID["pace"])
    assert list(trace(fig, "devoted_resources_readings").x) == [86.0, 90.0]
    assert list(trace(fig, ["top_priority"]).x) == [45.0]
    figures = {c.label: c.value for c in survey_citations(garbled, TENSION_BY_ID["pace"]).figures}
    assert figures["Devoted time or resources to it"].startswith("86% or 90%")


def test_citations_number_passages_and_point_at_the_quoted_sentence(findings):
    chunks = {c["id"]: c for c in CATALOG_SAMPLE["chunks"]}
    pace = findings["pace"]
    cites = survey_citations(pace, TENSION_BY_ID["pace"])
    assert len(cites.passages) == len(set(cites.passages))
    by_label = {c.label: c for c in cites.figures}
    median = by_label["Median rating"]
    assert (median.value, median.quote) == ("4 of 5", "The median system rating was a 4")
    assert median.quote in chunks[cites.passages[median.ref - 1]]["text"]
    blog = by_label["Lean toward Slow and Steady, as the TLA blog post reports it"]
    assert chunks[cites.passages[blog.ref - 1]]["doc_id"] == "tla-blog-2018"
    assert [c.quote for c in cites.patterns] == pace["patterns"]
    for c in cites.figures + cites.patterns:
        assert c.ref is not None, c.label or c.quote
        text = chunks[cites.passages[c.ref - 1]]["text"]
        assert (c.quote if c.label else _lead_span(c.quote)) in text


def test_cited_markdown_escapes_library_text():
    from assistant.framework.charts import Cited

    line = cited_markdown(Cited("Median rating", "4 of 5", "<script>alert(1)</script> [x](y)", 2))
    assert line.startswith("- **Median rating:** 4 of 5 — “")
    assert "<script>" not in line and "\\<script\\>" in line and "\\[x\\]\\(y\\)" in line
    assert line.endswith("\\[2\\]")
    assert cited_markdown(Cited("", None, "A pattern.", None)) == "- A pattern\\."
