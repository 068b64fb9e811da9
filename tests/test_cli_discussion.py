"""`lbw prompts` and `lbw guide`: shapes on stdout, clear errors, files that open."""

from __future__ import annotations

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

    def run(*args):
        code = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def context_file(tmp_path):
    path = tmp_path / "context.json"
    path.write_text(
        json.dumps(
            {
                "system_type": "district",
                "schools": 600,
                "locale": "urban",
                "frl_share": 0.8,
                "years_scaling": 3,
                "note": "We are expanding coaching.",
            }
        ),
        encoding="utf-8",
    )
    return path


def test_prompts_json_shape(lbw, context_file):
    code, out, err = lbw(
        "prompts", "--tension", "resource-allocation", "--context", context_file, "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["context"]["schools"] == 600
    prompts = data["prompts"]
    assert {p["kind"] for p in prompts} == {"from-library", "tailored"}
    for p in prompts:
        assert set(p) >= {"text", "kind", "tension", "why", "citations"}
        assert p["tension"] == "resource-allocation" and p["why"]
        for c in p["citations"]:
            assert set(c) >= {"n", "id", "title", "section", "text"}
            assert all(" ".join(q.split()) in " ".join(c["text"].split()) for q in p["quotes"])
    code, out, _ = lbw("prompts", "--json")
    tensions = {p["tension"] for p in json.loads(out)["prompts"]}
    assert len(tensions) == 7


def test_prompts_errors(lbw, tmp_path, monkeypatch):
    code, out, err = lbw("prompts", "--tension", "speed", "--json")
    assert code == 2 and out == "" and "Unknown tension" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"frl_share": 75}', encoding="utf-8")
    code, out, err = lbw("prompts", "--context", bad, "--json")
    assert code == 2 and out == "" and "frl_share must be a number from 0 to 1" in err
    code, out, err = lbw("prompts", "--context", tmp_path / "missing.json")
    assert code == 2 and "Context file not found" in err
    monkeypatch.setenv("LBW_STORE_DIR", str(tmp_path / "nothing"))
    code, out, err = lbw("prompts", "--json")
    assert code == 3 and out == "" and "lbw ingest" in err
