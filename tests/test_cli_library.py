"""`lbw add / remove / edit / docs`: JSON shapes on stdout, clear errors on stderr, exit codes."""

from __future__ import annotations

import json
import re

import pytest

from assistant import cli
from tests import documents as d
from tests.fakes import HashingEmbedder


@pytest.fixture
def lbw(monkeypatch, store, store_copy, capsys):
    monkeypatch.setenv("LBW_STORE_DIR", str(store_copy(store).store_dir))
    monkeypatch.delenv("LBW_LIBRARY_DIR", raising=False)
    fake = HashingEmbedder()
    monkeypatch.setattr("assistant.embedding.embedder.load_default_embedder", lambda *_: fake)
    monkeypatch.setattr("assistant.service.load_query_embedder", lambda *_: fake)

    def run(*args):
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "plan.pdf").write_bytes(d.fact_pdf())
    (folder / "memo.docx").write_bytes(d.fact_docx())
    (folder / "fake.pdf").write_bytes(b"MZ" + bytes(range(256)) * 8)
    return folder


def test_add_docs_ask_remove_round_trip(lbw, files, tmp_path, monkeypatch):
    monkeypatch.chdir(files)
    code, out, err = lbw("add", "plan.pdf", "../inbox/memo.docx", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [doc["file"] for doc in report["added"]] == [
        "marlowe-valley-strategic-plan-2025-2028.pdf",
        "harbor-point-transport-memo.docx",
    ]
    assert report["ingest"]["embedded"] == sum(doc["chunks"] for doc in report["added"])
    # Stored beside the store under generated names, never where the given path pointed.
    library = tmp_path / "data" / "library"
    assert sorted(p.name for p in library.iterdir() if p.is_file()) == [
        ".lbw-library",  # the marker: lbw made this folder
        "harbor-point-transport-memo.docx",
        "manifest.json",
        "marlowe-valley-strategic-plan-2025-2028.pdf",
    ]

    code, out, _ = lbw("docs", "--json")
    rows = json.loads(out)["documents"]
    assert code == 0 and all(
        {"id", "title", "kind", "file", "chunks", "added"} <= set(r) for r in rows
    )
    by_id = {r["id"]: r for r in rows}
    assert by_id["look-both-ways"]["added"] is None and by_id["look-both-ways"]["chunks"] > 100
    pdf = by_id["marlowe-valley-strategic-plan-2025-2028"]
    assert pdf["chunks"] == report["added"][0]["chunks"] and pdf["added"]

    code, out, _ = lbw("ask", d.PDF_QUESTION, "--json")
    answer = json.loads(out)
    cited = [c for c in answer["citations"] if "Quillfeather" in c["text"]]
    assert code == 0 and cited and cited[0]["pages"] == "2"
    code, out, _ = lbw("ask", d.PDF_QUESTION)
    assert re.search(r"Marlowe Valley Strategic Plan 2025-2028 — Literacy, pp?\. 2\n", out)

    code, out, err = lbw("remove", "marlowe-valley-strategic-plan-2025-2028")
    assert code == 0 and "Removed “Marlowe Valley" in out, err
    code, out, _ = lbw("docs", "--json")
    assert "marlowe-valley-strategic-plan-2025-2028" not in {
        r["id"] for r in json.loads(out)["documents"]
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "{inbox}/fake.pdf"), "is not a PDF"),
        (("add", "{inbox}"), "not a regular file"),
        (("add", "{inbox}/missing.md"), "No such file"),
        (("add", "{inbox}/plan.pdf", "{inbox}/memo.docx", "--title", "Both"), "one document"),
        (("remove", "look-both-ways"), "bundled library"),
        (("remove", "no-such-doc"), "No document"),
        (("edit", "scale-what", "--title", "Mine"), "bundled library"),
    ],
)
def test_refusals_are_clear_and_change_nothing(lbw, files, args, message):
    _, before, _ = lbw("docs", "--json")
    code, out, err = lbw(*[a.format(inbox=files) for a in args], "--json")
    assert code == 4 and out == "" and message in err and err.startswith("lbw: ")
    _, after, _ = lbw("docs", "--json")
    assert after == before


def test_the_same_file_twice_is_refused(lbw, files):
    assert lbw("add", str(files / "memo.docx"), "--quiet")[0] == 0
    _, before, _ = lbw("docs", "--json")
    code, out, err = lbw("add", str(files / "memo.docx"))
    assert code == 4 and "already in the library as “Harbor Point transport memo”" in err
    assert lbw("docs", "--json")[1] == before


def test_edit_title_and_human_output(lbw, files):
    lbw("add", str(files / "memo.docx"), "--kind", "memo", "--quiet")
    code, out, err = lbw("edit", "harbor-point-transport-memo", "--title", "Late bus memo")
    assert code == 0, err
    assert out.startswith("Edited “Late bus memo” as harbor-point-transport-memo (docx, ")
    code, out, _ = lbw("docs")
    line = next(x for x in out.splitlines() if x.startswith("harbor-point-transport-memo"))
    assert "Late bus memo" in line and "[memo; " in line and "passages; added " in line
