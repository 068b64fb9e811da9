"""Survey findings in the catalog cite every pattern sentence and the scale they sit on."""

import pytest

from assistant.core.domain import TENSION_BY_ID
from ingest.catalog import _lead_span


@pytest.fixture(scope="module")
def findings(prepared):
    return {f["tension"]: f for f in prepared.catalog["findings"]}


def test_every_pattern_names_the_passage_it_is_read_from(prepared, findings):
    chunks = {c.id: c for c in prepared.chunks}
    for tension, finding in findings.items():
        ids = finding["pattern_passage_ids"]
        assert len(ids) == len(finding["patterns"]) > 0, tension
        for pattern, passage_id in zip(finding["patterns"], ids, strict=True):
            chunk = chunks[passage_id]
            assert _lead_span(pattern) in chunk.text, pattern
            assert chunk.tension == tension and chunk.kind == "survey"
            assert passage_id in finding["passage_ids"]


def test_scale_sentence_is_kept_verbatim_with_its_two_ends(prepared, findings):
    chunks = {c.id: c for c in prepared.chunks}
    pace = findings["pace"]
    assert pace["scale"] == {"1": "prioritizing speed", "5": "prioritizing deliberateness"}
    source = pace["sources"]["scale"]
    assert source["text"].startswith("on a scale of 1 to 5")
    assert source["text"] in chunks[source["passage_id"]].text
    # The paper prints no scale sentence for the first tension.
    assert "scale" not in findings["locus-of-control"]


def test_scale_worded_against_the_poles_gets_a_note(findings):
    reversed_ = {
        t
        for t, f in findings.items()
        if any("scale sentence runs the other way" in n for n in f["notes"])
    }
    assert reversed_ == {"cultivating-capacity"}
    note = next(n for n in findings["cultivating-capacity"]["notes"] if "scale" in n)
    assert "building internal capacity" in note
    assert TENSION_BY_ID["cultivating-capacity"].pole_a in note
