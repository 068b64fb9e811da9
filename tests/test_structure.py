"""The white paper's structure is recovered from the text, not typed in."""

from collections import Counter

import pytest

from assistant.core.domain import TENSIONS
from ingest.chunking import chunk_document


@pytest.fixture(scope="module")
def paper(parsed_library):
    return next(p for p in parsed_library.parsed if p.doc_id == "look-both-ways")


def test_every_district_example_is_found_with_its_side(paper):
    examples = paper.extras["examples"]
    assert len(examples) == 39
    per = Counter((e["tension"], e["side"]) for e in examples)
    assert per[("locus-of-control", "a")] == 4 and per[("locus-of-control", "b")] == 2
    assert per[("resource-allocation", "a")] == 3 and per[("resource-allocation", "b")] == 2
    assert per[("resource-allocation", "combine")] == 2
    for t in TENSIONS:
        assert {"a", "b", "combine"} <= {s for (tid, s) in per if tid == t.id}, t.id


def test_example_fields_are_verbatim_in_the_source(paper, corpus_dir):
    raw = (corpus_dir / "look-both-ways-white-paper-2018.txt").read_text(encoding="utf-8")
    for e in paper.extras["examples"]:
        assert e["quote"] in raw and e["title"] in raw and e["leader"] in raw
        fulton = next(
            x
            for x in paper.extras["examples"]
            if x["title"].startswith("Using a Readiness Assessment")
        )
    assert (
        fulton["leader"] == "Heather Van Looy" and fulton["systems"][0] == "Fulton County Schools"
    )
    assert fulton["role"] == "Program Specialist, Instructional Technology"


def test_chunks_are_verbatim_self_contained_and_tagged(parsed_library):
    for parsed in parsed_library.parsed:
        for chunk in chunk_document(parsed):
            assert chunk.text in parsed.text, chunk.section
            assert len(chunk.text.split()) >= 5, f"bare heading chunk: {chunk.text!r}"
            assert chunk.indexed_text().startswith(parsed.title), "every chunk keeps its context"
    chunks = chunk_document(parsed_library.parsed[0])
    kinds = Counter(c.kind for c in chunks)
    assert kinds["example"] == 39 and kinds["benefits"] == 7 and kinds["lessons"] == 7
    assert kinds["survey"] >= 14 and kinds["reflection"] >= 7
    q3 = [c for c in chunks if c.tension == "resource-allocation" and c.kind != "survey"]
    assert q3 and all(c.pages == "20-24" for c in q3)
    survey = [c for c in chunks if c.kind == "survey"]
    assert all(c.pages == "46-58" for c in survey)


def test_benefit_tables_stay_whole_in_all_three_encodings(parsed_library):
    chunks = [c for c in chunk_document(parsed_library.parsed[0]) if c.kind == "benefits"]
    assert len(chunks) == 7
    for c in chunks:
        assert (
            c.text.count("- Teacher Benefit:") == 2 and c.text.count("- District/CMO Benefit:") == 2
        )
        assert "<p>" not in c.text and "\t" not in c.text
    need = next(c for c in chunks if c.tension == "resource-allocation").text
    assert "Prioritize Need: Start with those who need it most." in need
    assert (
        "- Teacher Benefit: Can build on what teachers are already doing" in need
    )  # readiness side


def test_chunk_ids_are_stable_and_content_derived(parsed_library):
    first = [c.id for c in chunk_document(parsed_library.parsed[0])]
    again = [c.id for c in chunk_document(parsed_library.parsed[0])]
    assert first == again and len(set(first)) == len(first)
