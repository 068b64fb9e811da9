"""The lbw contract (GUIDE §4): shapes on stdout, clear errors on stderr, non-zero exits."""

import json

import pytest

from assistant import cli


def test_ask_json_shape_and_markers_map_to_verbatim_citations(lbw, store):
    code, out, err = lbw("ask", "How did districts handle need vs readiness?", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= {"answer", "in_scope", "citations"} and doc["in_scope"] is True
    docs = json.loads(next((store / "builds").iterdir()).joinpath("documents.json").read_text())
    for c in doc["citations"]:
        assert set(c) >= {"n", "id", "doc_id", "title", "section", "text"}
        assert c["text"] in docs[c["doc_id"]]["text"]
        assert f"[{c['n']}]" in doc["answer"] + doc.get("more", "")


def test_top_k_setting_bounds_the_passages_an_answer_draws_on(lbw, monkeypatch):
    """LBW_TOP_K bounds the retrieved passages an answer is written from (a tension's or a
    district's layout adds what the library says of them wherever it is)."""
    questions = [
        "What role do teachers play in choosing pilot schools?",
        "How should leaders communicate with families about blended learning?",
    ]

    def cited(question: str) -> set[str]:
        code, out, err = lbw("ask", question, "--json")
        assert code == 0, err
        return {c["id"] for c in json.loads(out)["citations"]}

    wide = [cited(q) for q in questions]
    monkeypatch.setenv("LBW_TOP_K", "1")
    narrow = [cited(q) for q in questions]
    assert all(0 < len(n) <= 1 for n in narrow), narrow
    assert any(len(w) > 1 for w in wide)


def test_retrieve_json_shape(lbw):
    code, out, _ = lbw("retrieve", "What did Fulton do?", "-k", "5", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["question"] == "What did Fulton do?" and len(doc["passages"]) == 5
    assert set(doc["passages"][0]) == {
        "id",
        "doc_id",
        "title",
        "section",
        "text",
        "score",
        "metadata",
    }


def test_batch_mode_keeps_order_and_times_each(lbw, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        json.dumps({"question": "What did Fulton do?"})
        + "\n"
        + json.dumps(
            {
                "question": "Did they use a partner?",
                "history": [{"role": "user", "content": "What did Fulton do?"}],
            }
        )
        + "\n"
    )
    code, out, _ = lbw("ask", "--batch", str(batch), "--json")
    results = json.loads(out)["results"]
    assert code == 0 and [r["question"] for r in results] == [
        "What did Fulton do?",
        "Did they use a partner?",
    ]
    assert all(r["ms"] > 0 for r in results)


@pytest.mark.parametrize(
    "question, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 20_000, "too long"),
        ("need\x00 vs\x1b readiness", "control character"),
    ],
)
def test_bad_questions_get_a_clear_message_and_nonzero_exit(lbw, question, message):
    code, out, err = lbw("ask", question, "--json")
    assert code != 0 and out == "" and message in err and "Traceback" not in err


def test_history_that_is_not_json_is_a_clear_error(lbw, tmp_path):
    bad = tmp_path / "history.json"
    bad.write_text("{role: user")
    code, out, err = lbw("ask", "And then?", "--history", str(bad))
    assert code != 0 and "not valid JSON" in err and out == ""
    bad.write_text(json.dumps([{"role": "robot", "content": "hi"}]))
    code, _, err = lbw("ask", "And then?", "--history", str(bad))
    assert code != 0 and "role" in err


def test_missing_index_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LBW_STORE_DIR", str(tmp_path / "empty"))
    code = cli.main(["ask", "What did Fulton do?"])
    err = capsys.readouterr().err
    assert code != 0 and "No index found" in err and "lbw ingest" in err


def test_out_of_scope_question_is_refused_without_citations(lbw):
    code, out, _ = lbw("ask", "What does an Edgenuity licence cost per student?", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["in_scope"] is False and doc["citations"] == []
    assert "does not answer" in doc["answer"]


def test_examples_json_shape_and_filters(lbw):
    code, out, err = lbw("examples", "--tension", "resource-allocation", "--side", "b", "--json")
    assert code == 0, err
    examples = json.loads(out)["examples"]
    assert len(examples) == 2
    keys = {"id", "tension", "side", "title", "system", "state", "leader", "role", "quote"}
    for e in examples:
        assert keys | {"text", "pages", "passage_id"} <= set(e)
        assert (e["tension"], e["side"]) == ("resource-allocation", "b")
    assert {e["system"] for e in examples} == {"Mesa Valley Country District 51", "Fulton County"}
    code, out, _ = lbw("examples", "--system", "Fulton", "--json")
    assert code == 0 and all(
        "Fulton County Schools" in e["systems"] for e in json.loads(out)["examples"]
    )


def test_survey_json_gives_fractions_and_notes(lbw):
    code, out, err = lbw("survey", "--tension", "pace", "--json")
    assert code == 0, err
    (finding,) = json.loads(out)["findings"]
    assert finding["tension"] == "pace" and finding["n"] == 86
    assert finding["lean_b"] == 0.58 and finding["top_priority"] == 0.45
    assert finding["patterns"] and any("68%" in n for n in finding["notes"])
    assert finding["passage_id"]
    code, out, _ = lbw("survey", "--json")
    assert len(json.loads(out)["findings"]) == 7


def test_questions_json_by_tension_and_sources(lbw):
    code, out, err = lbw("questions", "--tension", "pace", "--json")
    assert code == 0, err
    questions = json.loads(out)["questions"]
    assert len(questions) == 3
    assert all(q["source"] == "reflection-questions" and q["passage_id"] for q in questions)
    code, out, _ = lbw("questions", "--json")
    sources = {q["source"] for q in json.loads(out)["questions"]}
    assert sources == {"reflection-questions", "guide-1", "guide-2"}


def test_catalog_commands_reject_bad_filters_and_a_missing_index(lbw, monkeypatch, tmp_path):
    code, out, err = lbw("examples", "--tension", "speed", "--json")
    assert code == 2 and out == "" and "Unknown tension" in err
    monkeypatch.setenv("LBW_STORE_DIR", str(tmp_path / "nothing"))
    code, out, err = lbw("survey", "--json")
    assert code == 3 and out == "" and "lbw ingest" in err


def test_ask_full_prints_more_from_the_library(lbw):
    question = "How did districts handle need vs readiness?"
    code, out, _ = lbw("ask", question, "--json")
    more = json.loads(out)["more"]
    later = more.split("\n\n")[-1]  # the last piece of More, shown only in full
    assert code == 0 and later and later in more
    code, short, _ = lbw("ask", question)
    assert code == 0 and later not in short and "--full" in short
    code, full, _ = lbw("ask", question, "--full")
    assert code == 0 and "More from the library:" in full and more in full
    assert full.index("More from the library:") < full.index("Sources:")
