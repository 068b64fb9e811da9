"""The "Chart your path" page through AppTest, over a real Assistant (hashing embedder,
embedded Chroma on a temp store): sliders, chart, widest gaps with the other side's examples
and prompts, team mode from pasted or uploaded CSV (bad rows named), and the meeting guide."""

from __future__ import annotations

import io

import pytest
from streamlit.testing.v1 import AppTest

from assistant.app.pages.pathway import GUIDE, TEAM
from assistant.core.settings import Settings
from assistant.framework.pathway import COLUMNS
from assistant.service import Assistant
from tests.fakes import HashingEmbedder

pytestmark = pytest.mark.app

HEADER = ",".join(COLUMNS)
ANA = "Ana,2,4,3,3,1,3,4,4,3,4,2,2,1,5"
BEN = "Ben,3,5,2,2,2,4,4,5,2,5,3,2,2,4"


@pytest.fixture(scope="module")
def bot(store, corpus_dir):
    settings = Settings(corpus_dir=corpus_dir, store_dir=store)
    return Assistant(settings, HashingEmbedder())


def _page(bot):
    from assistant.app.pages.pathway import pathway_page

    pathway_page(bot)


@pytest.fixture
def page(bot):
    return AppTest.from_function(_page, args=(bot,), default_timeout=60).run()


def texts(at: AppTest) -> str:
    parts = [*at.markdown, *at.caption, *at.subheader, *at.text, *at.error, *at.info]
    return "\n".join(str(p.value).replace("\\", "").replace("**", "") for p in parts)


def labels(at: AppTest) -> list[str]:
    return [e.label.replace("\\", "") for e in at.expander]


def test_sliders_and_chart(page):
    assert not page.exception
    assert len(page.slider) == 14
    assert {s.value for s in page.slider} == {3}
    assert len(page.get("plotly_chart")) == 1  # my pathway; the team tab is empty
    assert "Move the “Want” sliders" in texts(page)


def test_widest_gap_shows_the_other_side_and_prompts(page):
    page.slider(key="now-locus-of-control").set_value(1)
    page.slider(key="want-locus-of-control").set_value(5)
    at = page.slider(key="want-pace").set_value(4).run()
    assert not at.exception
    shown = texts(at)
    assert "The widest gaps" in shown
    assert (
        "1. Centralized vs. Decentralized: now 1.0, want 5.0 (gap 4.0 toward Decentralized)"
        in shown
    )
    assert "Systems on the other side: Decentralized" in shown
    assert any(label.startswith("Chicago Public Schools: Letting Schools") for label in labels(at))
    assert "How might central office support enable more school autonomy?" in shown
    # every prompt's passage opens as text
    assert any("Reflection Questions" in label for label in labels(at))


def test_context_tailors_the_prompts(page):
    page.slider(key="want-resource-allocation").set_value(1)  # toward need
    page.number_input(key="ctx-schools").set_value(600)
    at = page.selectbox(key="ctx-locale").set_value("urban").run()
    shown = texts(at)
    assert "Large and urban districts are more likely to prioritize need" in shown
    assert "tailored: Your context (urban system of 600 schools)" in shown


def test_pasted_csv_with_bad_rows_names_them(page):
    bad = "\n".join([HEADER, ANA, BEN.replace("Ben,3,5,2,2", "Ben,3,9,2,2")])
    page.text_area(key="team-paste").set_value(bad)
    at = page.button(key="team-read").click().run()
    assert not at.exception
    (error,) = at.error
    assert (
        "Row 3 (Ben): locus-of-control_want is '9'; enter a whole number from 1 to 5"
        in error.value.replace("\\", "")
    )
    assert at.session_state[TEAM] == []


def test_uploaded_csv_in_another_encoding_is_refused(page):
    data = f"{HEADER}\n{ANA}\n".encode() + "José,1,1,1,1,1,1,1,1,1,1,1,1,1,1".encode("latin-1")
    page.get("file_uploader")[0].set_value(("team.csv", data, "text/csv"))
    at = page.button(key="team-read").click().run()
    message = at.error[0].value.replace("\\", "")
    assert "Row 3 of team.csv is not UTF-8 text" in message and "CSV UTF-8" in message


def test_missing_columns_are_refused(page):
    page.text_area(key="team-paste").set_value("name,pace_now\nAna,3")
    at = page.button(key="team-read").click().run()
    assert "missing column(s): locus-of-control_now" in at.error[0].value.replace("\\", "")


def test_team_mode_agreement_and_guide(page):
    page.text_area(key="team-paste").set_value("\n".join([HEADER, ANA, BEN]))
    at = page.button(key="team-read").click().run()
    assert not at.exception and not at.error
    at.text_input(key="team-name").set_value("Cy")
    at.slider(key="now-pace").set_value(1)
    at = at.button(key="team-add").click().run()
    assert [p.name for p in at.session_state[TEAM]] == ["Ana", "Ben", "Cy"]
    shown = texts(at)
    assert "Agree most:" in shown and "Agree least:" in shown
    assert "Where are people the most aligned? The least?" in shown
    assert len(at.get("plotly_chart")) == 2

    at = at.button(key="guide-build").click().run()
    assert not at.exception
    files = at.session_state[GUIDE]
    assert set(files) == {"md", "docx", "pdf"}
    import docx
    import pypdf

    document = docx.Document(io.BytesIO(files["docx"]))
    body = "\n".join(p.text for p in document.paragraphs)
    assert len(document.inline_shapes) == 1 and "Sources" in body and "pp. " in body
    assert "Ana, Ben, Cy" in body
    reader = pypdf.PdfReader(io.BytesIO(files["pdf"]))
    assert sum(len(p.images) for p in reader.pages) == 1
    assert files["md"].decode().count("data:image/png;base64,") == 1
    assert len(at.get("download_button")) >= 5  # template, team CSV, md, docx, pdf
