"""`lbw prompts` and `lbw guide`: shapes on stdout, clear errors, files that open."""

from __future__ import annotations

import json

import pytest

from assistant.core.settings import Settings


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


@pytest.fixture
def team_file(tmp_path):
    from assistant.framework.pathway import COLUMNS

    path = tmp_path / "team.csv"
    rows = [
        ",".join(COLUMNS),
        "Ana,2,4,3,3,1,3,4,4,3,4,2,2,1,5",
        "Ben,3,5,2,2,2,4,4,5,2,5,3,2,2,4",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _source_lines(store):
    """Expected 'Sources' lines: document title, section and pages of cited passages."""
    from assistant.storage.builds import open_live

    chunks = open_live(Settings(store_dir=store)).by_id
    return chunks


def _check_text(text, chunks):
    """Every [n] used is listed with document, section and pages of a real passage."""
    import re

    listed = dict(re.findall(r"\[(\d+)\] (Look Both Ways[^\n]*)", text))
    assert listed, text[:500]
    used = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    assert used == {int(n) for n in listed}
    sections = {c.section for c in chunks.values()}
    for line in listed.values():
        title, rest = line.split(" — ", 1)
        section, pages = rest.rsplit(", pp. ", 1) if ", pp. " in rest else rest.rsplit(", p. ", 1)
        assert section in sections and pages.strip()
    assert "Who and what determines “need” or “readiness?”" in text


def test_guide_markdown_docx_pdf(lbw, store, context_file, team_file, tmp_path):
    import docx
    import pypdf

    chunks = _source_lines(store)
    for ext in ("md", "docx", "pdf"):
        out = tmp_path / f"guide.{ext}"
        code, stdout, err = lbw(
            "guide",
            "--tension",
            "resource-allocation",
            "pace",
            "--context",
            context_file,
            "--pathway",
            team_file,
            "--out",
            out,
            "--json",
        )
        assert code == 0, err
        info = json.loads(stdout)
        assert info["format"] == ext and info["tensions"] == ["resource-allocation", "pace"]
        if ext == "md":
            text = out.read_text(encoding="utf-8")
            chart = tmp_path / "guide-pathway.png"
            assert "![Pathway chart](guide-pathway.png)" in text
            assert chart.read_bytes().startswith(b"\x89PNG")
        elif ext == "docx":
            document = docx.Document(str(out))
            text = "\n".join(p.text for p in document.paragraphs)
            text += "\n" + "\n".join(
                c.text for t in document.tables for r in t.rows for c in r.cells
            )
            assert len(document.inline_shapes) == 1  # the pathway chart
            assert any(
                r.cells[0].text.startswith("3. Prioritize Need") for r in document.tables[0].rows
            )
        else:
            reader = pypdf.PdfReader(str(out))
            text = "\n".join(page.extract_text() for page in reader.pages)
            assert sum(len(page.images) for page in reader.pages) == 1
            text = " ".join(text.split(" \n"))  # pypdf breaks long lines
        assert "Agenda (" in text and "Ana" in text and "Ben" in text
        _check_text(text if ext != "pdf" else _join_pdf_lines(text), chunks)


def _join_pdf_lines(text: str) -> str:
    """PDF text extraction wraps long lines; join continuation lines back onto their item."""
    import re

    return re.sub(r"\n(?!\[\d+\] |•|[A-Z0-9][^\n]{0,3}\. )", " ", text)


def test_guide_picks_the_widest_gaps_and_needs_a_known_format(lbw, team_file, tmp_path):
    out = tmp_path / "g.md"
    code, stdout, err = lbw("guide", "--pathway", team_file, "--out", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["tensions"] == [
        "sharing-learning",
        "locus-of-control",
        "resource-allocation",
    ]
    code, stdout, err = lbw("guide", "--out", tmp_path / "g.txt")
    assert code == 2 and "name it .md, .docx or .pdf" in err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"name\n")
    code, stdout, err = lbw("guide", "--pathway", bad, "--out", out)
    assert code == 2 and "missing column(s)" in err
