"""The lbw contract (GUIDE §4): shapes on stdout, clear errors on stderr, non-zero exits."""

import json

import pytest

from assistant import cli
from assistant.settings import Settings
from ingest.pipeline import run_ingest
from tests.conftest import HashingEmbedder


@pytest.fixture(scope="module")
def store(tmp_path_factory, corpus_dir):
    store = tmp_path_factory.mktemp("store")
    run_ingest(
        Settings(corpus_dir=corpus_dir, store_dir=store), embedder=HashingEmbedder(), progress=False
    )
    return store


@pytest.fixture
def lbw(monkeypatch, store, capsys):
    monkeypatch.setenv("LBW_STORE_DIR", str(store))
    monkeypatch.setattr("assistant.service.load_query_embedder", lambda *_: HashingEmbedder())

    def run(*args):
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_ask_json_shape_and_markers_map_to_verbatim_citations(lbw, store):
    code, out, err = lbw("ask", "How did districts handle need vs readiness?", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= {"answer", "in_scope", "citations"} and doc["in_scope"] is True
    docs = json.loads(next((store / "builds").iterdir()).joinpath("documents.json").read_text())
    for c in doc["citations"]:
        assert set(c) >= {"n", "id", "doc_id", "title", "section", "text"}
        assert c["text"] in docs[c["doc_id"]]["text"]
        assert f"[{c['n']}]" in doc["answer"]


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
