"""The Examples and Survey pages, driven through AppTest with the FakeAssistant (whose catalog
is a verbatim slice of the real one: tests/catalog_sample.json).

Each page function takes the Assistant, so most tests run it alone (`AppTest.from_function`);
the last ones open the pages through app.py's navigation, behind the usual seam.
"""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import patch

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant.app import view as ui
from assistant.framework.charts import NO_LEAN_SHARES
from tests.test_app import SCRIPT, assert_no_raw_html

pytestmark = pytest.mark.app

APP = str(Path(__file__).resolve().parent.parent / "app.py")
MESA = "System-Wide Definition of Blended or Personalized Learning"
SOFT_LAUNCH = "Using a “Soft Launch” to Gather Evidence of Success"
COMMUNITY = "Engaging the Community to Build Future Momentum"
FULTON = "Using a Readiness Assessment to Efficiently Structure Roll-Out"


def _examples(bot):
    from assistant.app.pages.examples import examples_page

    examples_page(bot)


def _survey(bot):
    from assistant.app.pages.survey import survey_page

    survey_page(bot)


@pytest.fixture
def examples(fake_assistant) -> AppTest:
    return AppTest.from_function(_examples, args=(fake_assistant,), default_timeout=60).run()


@pytest.fixture
def survey(fake_assistant) -> AppTest:
    return AppTest.from_function(_survey, args=(fake_assistant,), default_timeout=60).run()


def listed(at: AppTest) -> list[str]:
    """The strategies in the examples table as shown (none when no table)."""
    if not at.dataframe:
        return []
    return list(at.dataframe[0].value["Strategy"])


def pick_row(at: AppTest, row: int) -> AppTest:
    """Select a table row as a click would (AppTest takes selections through session state)."""
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [row], "columns": []}}
    return at.run()


# -- Examples ---------------------------------------------------------------------------------
def test_table_lists_every_example_with_readable_columns(examples):
    assert not examples.exception
    assert examples.header[0].value == "District examples"
    table = examples.dataframe[0].value
    assert list(table.columns) == ["Tension", "Side", "System", "State", "Leader", "Strategy"]
    assert list(table["Strategy"]) == [MESA, SOFT_LAUNCH, COMMUNITY, FULTON]
    assert list(table["Side"]) == [
        "Centralized",
        "Slow and Steady",
        "Combining both",
        "Prioritize Readiness",
    ]
    assert any(c.value == "4 of 4 examples" for c in examples.caption)
    assert not examples.subheader  # nothing opened yet


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("ex_tensions", ["pace"], [SOFT_LAUNCH, COMMUNITY]),
        ("ex_sides", ["b"], [SOFT_LAUNCH, FULTON]),
        ("ex_states", ["CO"], [MESA, COMMUNITY]),
        ("ex_systems", ["Fulton County Schools"], [FULTON]),
        ("ex_systems", ["Chicago Public Schools"], [MESA, SOFT_LAUNCH]),
    ],
)
def test_each_filter_narrows_the_table(examples, key, value, expected):
    at = examples.multiselect(key=key).set_value(value).run()
    assert not at.exception
    assert listed(at) == expected
    assert any(c.value == f"{len(expected)} of 4 examples" for c in at.caption)


def test_filters_combine_and_can_empty_the_table(examples):
    examples.multiselect(key="ex_tensions").set_value(["pace"])
    at = examples.multiselect(key="ex_states").set_value(["CO"]).run()
    assert listed(at) == [COMMUNITY]
    at = at.multiselect(key="ex_sides").set_value(["a"]).run()
    assert listed(at) == []
    assert "No example matches" in at.info[0].value


def test_side_names_follow_the_one_tension_picked(examples):
    side = examples.multiselect(key="ex_sides")
    assert side.format_func("a") == "First approach (A)"
    at = examples.multiselect(key="ex_tensions").set_value(["pace"]).run()
    assert at.multiselect(key="ex_sides").options == [
        "Fast and Furious",
        "Slow and Steady",
        "Combining both",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Kevin Connors", [SOFT_LAUNCH]),  # by leader
        ("north star", [MESA]),  # by quote
        ("CPS", [MESA, SOFT_LAUNCH]),  # by a name the library uses for a system
        ("nothing like this", []),
    ],
)
def test_search_finds_by_leader_quote_and_system(examples, query, expected):
    at = examples.text_input(key="ex_search").set_value(query).run()
    assert not at.exception
    assert listed(at) == expected


def test_opening_a_row_shows_story_quote_and_source_passage(examples, fake_assistant):
    record = fake_assistant.examples()[1]
    at = pick_row(examples, 1)
    assert not at.exception
    assert [s.value for s in at.subheader] == [ui.escape_markdown(SOFT_LAUNCH)]
    texts = [t.value for t in at.text]
    assert record["quote"] in texts and record["text"] in texts
    passage = fake_assistant.chunk(record["passage_id"])
    assert passage.text in texts
    assert record["text"] in passage.text  # the story is verbatim from the cited passage
    label = at.expander[0].label
    assert label.startswith("Source passage\\:") and "Question 2" in label and "15\\-19" in label
    captions = " ".join(c.value for c in at.caption)
    assert "Kevin Connors" in captions and "Chicago Public Schools, IL" in captions
    assert "Slow and Steady" in captions


def test_changing_the_filters_closes_the_open_story(examples):
    at = pick_row(examples, 0)
    assert at.subheader[0].value == ui.escape_markdown(MESA)
    at = at.multiselect(key="ex_tensions").set_value(["pace"]).run()
    assert not at.subheader  # row 0 of the new table was never picked
    assert any("Pick a row" in c.value for c in at.caption)


def test_example_with_script_tag_is_shown_as_text(fake_assistant):
    record = fake_assistant.framework_data["examples"][0]
    record["title"] = f"Vision {SCRIPT} **bold**"
    record["quote"] = f"“{SCRIPT}”"
    record["text"] = f"A story {SCRIPT} with [a link](http://x)."
    at = AppTest.from_function(_examples, args=(fake_assistant,), default_timeout=60).run()
    assert SCRIPT in at.dataframe[0].value["Strategy"][0]  # the table shows cells as text
    at = pick_row(at, 0)
    assert not at.exception
    texts = [t.value for t in at.text]
    assert record["quote"] in texts and record["text"] in texts
    assert at.subheader[0].value == ui.escape_markdown(record["title"])
    assert_no_raw_html(at)


def test_missing_passage_is_said_not_raised(fake_assistant):
    fake_assistant.passages.clear()
    at = AppTest.from_function(_examples, args=(fake_assistant,), default_timeout=60).run()
    at = pick_row(at, 0)
    assert not at.exception
    assert any("not in the current index" in c.value for c in at.caption)


def test_empty_catalog_explains_itself(fake_assistant):
    fake_assistant.framework_data["examples"] = []
    at = AppTest.from_function(_examples, args=(fake_assistant,), default_timeout=60).run()
    assert not at.exception and not at.dataframe
    assert "re-index" in at.info[0].value


# -- Survey -----------------------------------------------------------------------------------
def charts(at: AppTest) -> list[dict]:
    """Each plotly chart's figure as the browser receives it."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def traces(figure: dict) -> dict:
    return {json.dumps(t.get("meta")): t for t in figure["data"]}


def test_one_chart_per_finding_with_median_and_mean(survey, fake_assistant):
    assert not survey.exception
    findings = fake_assistant.findings()
    assert len(charts(survey)) == len(findings) == 2
    subheads = [s.value for s in survey.subheader]
    assert subheads == [
        ui.escape_markdown("1. Centralized vs. Decentralized"),
        ui.escape_markdown("2. Fast and Furious vs. Slow and Steady"),
    ]
    locus, pace = (traces(f) for f in charts(survey))
    assert locus['"median"']["x"] == [3] and locus['"mean"']["x"] == [2.8]
    # The paper gives no lean for tension 1: a line says so, and no bar of "Not reported".
    assert '"middle"' not in locus and '"lean_a"' not in locus
    assert [m.value for m in survey.markdown].count(NO_LEAN_SHARES) == 1
    assert pace['"median"']["x"] == [4] and pace['"mean"']["x"] == [3.6]
    assert pace['"lean_a"']["x"] == [16.0] and pace['"lean_b"']["x"] == [58.0]


def test_figures_and_patterns_are_cited_with_their_passages(survey, fake_assistant):
    pace = fake_assistant.findings("pace")[0]
    markdown = "\n".join(m.value for m in survey.markdown)
    assert ui.escape_markdown("The median system rating was a 4") in markdown
    assert "**Called it a top\\-priority challenge:** 45%" in markdown
    for pattern in pace["patterns"]:
        line = next(ln for ln in markdown.splitlines() if ui.escape_markdown(pattern) in ln)
        assert line.rstrip().endswith("\\]")  # a [n] citation marker
    texts = [t.value for t in survey.text]
    for passage_id in pace["passage_ids"]:
        assert fake_assistant.chunk(passage_id).text in texts
    labels = [e.label for e in survey.expander]
    assert any(label.startswith("\\[1\\] Look Both Ways") for label in labels)
    assert any("the study in brief" in label for label in labels)  # the blog post, not the paper


def test_notes_appear(survey, fake_assistant):
    notes = fake_assistant.findings("pace")[0]["notes"]
    assert [i.value for i in survey.info] == [ui.escape_markdown(n) for n in notes]
    assert any("68%" in i.value for i in survey.info)


def test_a_broken_finding_does_not_take_the_page_down(fake_assistant):
    fake_assistant.framework_data["findings"][1]["sources"] = "garbled"
    at = AppTest.from_function(_survey, args=(fake_assistant,), default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1 and "logged" in at.error[0].value
    assert len(charts(at)) == 2  # both drawn; the second's citations failed and said so


def test_survey_text_is_never_html(fake_assistant):
    finding = fake_assistant.framework_data["findings"][1]
    finding["patterns"] = [f"Rural systems {SCRIPT} lean **slow**."]
    finding["notes"] = [f"A note {SCRIPT}"]
    at = AppTest.from_function(_survey, args=(fake_assistant,), default_timeout=60).run()
    assert not at.exception
    assert_no_raw_html(at)
    assert any(ui.escape_markdown(SCRIPT) in m.value for m in at.markdown)
    assert at.info[0].value == ui.escape_markdown(f"A note {SCRIPT}")


# -- Through app.py ---------------------------------------------------------------------------
@pytest.fixture
def app(fake_assistant):
    st.cache_resource.clear()
    with patch("assistant.app.support.load", return_value=fake_assistant):
        yield AppTest.from_file(APP, default_timeout=60).run()
    st.cache_resource.clear()


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Open a page as its sidebar link would. AppTest.switch_page takes page files only and
    these pages are functions, so this sets the page hash that st.navigation registered for
    `url_path` (AppTest internals, read after a first run)."""
    pages = at._registered_pages
    at._page_hash = next(h for h, info in pages.items() if info.get("url_pathname") == url_path)
    return at.run()


def test_app_registers_both_pages_in_its_navigation(app):
    paths = {info.get("url_pathname") for info in app._registered_pages.values()}
    assert {"examples", "survey", "library"} <= paths


def test_app_opens_examples_and_survey_behind_the_seam(app, fake_assistant):
    at = open_page(app, "examples")
    assert not at.exception
    assert at.title[0].value == "Look Both Ways Assistant"
    assert listed(at) == [MESA, SOFT_LAUNCH, COMMUNITY, FULTON]
    at = open_page(at, "survey")
    assert not at.exception
    assert len(charts(at)) == 2


def test_app_survey_load_error_is_a_message(fake_assistant):
    from assistant import LbwError

    st.cache_resource.clear()
    with patch("assistant.app.support.load", return_value=fake_assistant):
        at = AppTest.from_file(APP, default_timeout=60).run()
    with patch("assistant.app.support.load", side_effect=LbwError("No index; run lbw ingest.")):
        st.cache_resource.clear()
        at = open_page(at, "survey")
    st.cache_resource.clear()
    assert not at.exception
    assert [e.value for e in at.error] == ["No index; run lbw ingest."]
