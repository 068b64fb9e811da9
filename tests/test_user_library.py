"""Users' own documents: added, asked about, cited with their pages, removed, retitled; every
bad input refused with a clear message and the index left exactly as it was."""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest

from assistant.core.errors import IngestError, InvalidDocument
from assistant.core.settings import Settings
from assistant.core.text import split_sentences
from assistant.service import load_assistant
from assistant.storage.builds import builds_dir, current_build_id, live_build_path, read_build_files
from ingest import manage
from ingest.libfolder import MARKER, PENDING, write_pending
from ingest.manage import (
    Source,
    add_documents,
    edit_document,
    list_documents,
    read_source_file,
    remove_document,
)
from ingest.pipeline import ingest_lock, run_ingest
from ingest.userlib import read_user_manifest
from tests import documents as d
from tests.fakes import ExplodingEmbedder, HashingEmbedder

pytestmark = pytest.mark.slow  # full ingests for every add, edit and remove

FIXED_QUESTION = "How did districts decide where to pilot?"
MD_QUESTION = "How often does the Oakhaven leadership team meet?"


@pytest.fixture(scope="module")
def template(tmp_path_factory, corpus_dir, store):
    """A store with the bundled library plus one added Markdown document."""
    root = tmp_path_factory.mktemp("userlib")
    shutil.copytree(store, root / "store")
    settings = Settings(corpus_dir=corpus_dir, store_dir=root / "store")
    emb = HashingEmbedder()
    add_documents(settings, [Source("leadership-notes.md", d.fact_markdown())], embedder=emb)
    return root


@pytest.fixture
def settings(tmp_path, template, corpus_dir):
    shutil.copytree(template, tmp_path / "lib", dirs_exist_ok=True)
    return Settings(corpus_dir=corpus_dir, store_dir=tmp_path / "lib" / "store")


def ask(settings, question):
    return load_assistant(settings, embedder=HashingEmbedder()).ask(question)


def snapshot(settings):
    """Everything a reader or the library folder shows: documents, chunks, answers, files."""
    files = read_build_files(live_build_path(settings), with_embeddings=False)
    answers = [ask(settings, q) for q in (FIXED_QUESTION, MD_QUESTION)]
    library = settings.user_library_dir
    return {
        "build": current_build_id(settings.store_dir),
        "builds": sorted(p.name for p in builds_dir(settings.store_dir).iterdir()),
        "documents": sorted(files.documents),
        "listed": [(r["id"], r["chunks"]) for r in list_documents(settings)],
        "chunks": len(files.chunks),
        "answers": [(a.answer, a.citations) for a in answers],
        "manifest": (library / "manifest.json").read_bytes(),
        "files": sorted(p.name for p in library.iterdir() if p.is_file()),
    }


def test_template_answers_from_the_added_markdown(settings):
    answer = ask(settings, MD_QUESTION)
    assert answer.in_scope
    cited = [c for c in answer.citations if d.MD_FACT in c.text]
    assert cited and cited[0].doc_id == "oakhaven-leadership-notes"
    assert cited[0].section == "Meetings" and cited[0].title == "Oakhaven leadership notes"


def test_a_refusal_says_the_library_holds_the_documents_you_added(settings, store, corpus_dir):
    """A district's library is not only the bundled one: a refusal names what was added."""
    question = "What did Springfield Public Schools do about pilots?"
    answer = ask(settings, question)
    assert not answer.in_scope
    assert "It also holds the document you added: “Oakhaven leadership notes”." in answer.answer
    bundled = ask(Settings(corpus_dir=corpus_dir, store_dir=store), question)
    assert not bundled.in_scope and "you added" not in bundled.answer


# -- every bad input: a clear message, nothing changed --------------------------------------
def _zip(names):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name, "x")
    return buf.getvalue()


BINARY = bytes(range(256)) * 64
BAD_INPUTS = [
    ("empty", "memo.txt", lambda: b"", "empty"),
    ("whitespace only", "memo.md", lambda: b" \n\t\n  ", "empty"),
    ("binary named .pdf", "plan.pdf", lambda: BINARY, "not a PDF"),
    ("binary named .txt", "notes.txt", lambda: BINARY, "binary"),
    ("corrupt PDF", "plan.pdf", lambda: d.fact_pdf()[:2500], "damaged PDF"),
    ("PDF header, junk body", "plan.pdf", lambda: b"%PDF-1.7\n" + BINARY, "damaged PDF"),
    ("encrypted PDF", "plan.pdf", d.encrypted_pdf, "encrypted"),
    ("scanned PDF", "scan.pdf", d.scanned_pdf, "scanned PDF with no text layer.*OCR"),
    ("zip named .docx", "memo.docx", lambda: _zip(["a.txt"]), "not a Word document"),
    ("text named .docx", "memo.docx", lambda: b"plain words", "not a Word document"),
    (
        "HTML that is only scripts",
        "page.html",
        lambda: (
            b"<html><head><script>alert(1)</script></head><body><script>x()</script></body></html>"
        ),
        "no readable main text.*never run",
    ),
    ("path traversal", "../../outside.md", d.fact_markdown, "is a path"),
    ("absolute path", "/etc/cron.d/evil.md", d.fact_markdown, "is a path"),
    ("windows traversal", "..\\..\\evil.md", d.fact_markdown, "is a path"),
    ("dot-dot", "..", d.fact_markdown, "is a path"),
    ("home path", "~root.md", d.fact_markdown, "is a path"),
    ("NUL in name", "memo\x00.pdf.md", d.fact_markdown, "control or invisible"),
    ("right-to-left override", "memo\u202edm.exe", d.fact_markdown, "control or invisible"),
    ("duplicate", "again.md", d.fact_markdown, "already in the library.*nothing was changed"),
    (
        "duplicate, saved as UTF-16",
        "again.md",
        lambda: d.fact_markdown().decode().encode("utf-16"),
        "already in the library",
    ),
    (
        "bundled document again",
        "scale.txt",
        lambda: _corpus_file("scale-what.txt"),
        "already in the library as “Scale What",
    ),
    ("unsupported type", "budget.xlsx", lambda: _zip(["xl/workbook.xml"]), "not supported"),
    ("unsupported image", "scan.png", lambda: b"\x89PNG\r\n\x1a\n" + BINARY, "not supported"),
    ("zip archive", "bundle", lambda: _zip(["a.md"]), "zip archive"),
]


def _corpus_file(name):
    from pathlib import Path

    return (Path(__file__).resolve().parent.parent / "corpus" / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [pytest.param(n, f, m, id=i) for i, n, f, m in BAD_INPUTS],
)
def test_bad_input_is_refused_and_changes_nothing(settings, tmp_path, name, data, message):
    before = snapshot(settings)
    emb = HashingEmbedder()
    with pytest.raises(InvalidDocument, match=message):
        add_documents(settings, [Source(name, data())], embedder=emb)
    assert emb.calls == 0  # refused before anything was embedded
    assert snapshot(settings) == before
    assert not (tmp_path / "outside.md").exists() and not (tmp_path / "evil.md").exists()


def test_file_over_the_size_limit_is_refused_unread(settings, tmp_path):
    small = Settings(corpus_dir=settings.corpus_dir, store_dir=settings.store_dir, max_file_mb=0.01)
    big = tmp_path / "big.md"
    big.write_bytes(d.fact_markdown() + b"More notes on the team.\n\n" * 2000)
    before = snapshot(small)
    with pytest.raises(InvalidDocument, match=r"over the 0.01 MB limit.*LBW_MAX_FILE_MB"):
        read_source_file(big, small)
    with pytest.raises(InvalidDocument, match="over the 0.01 MB limit"):
        add_documents(small, [Source("big.md", big.read_bytes())], embedder=HashingEmbedder())
    assert snapshot(small) == before


def test_default_size_limit_is_50_mb():
    assert Settings().max_file_mb == 50
    assert Settings.from_env({"LBW_MAX_FILE_MB": "5"}).max_file_mb == 5


def test_not_a_regular_file_is_refused(settings, tmp_path):
    with pytest.raises(InvalidDocument, match="not a regular file"):
        read_source_file(tmp_path, settings)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(InvalidDocument, match="not a regular file"):
        read_source_file(fifo, settings)  # would block forever if it were opened
    with pytest.raises(InvalidDocument, match="No such file"):
        read_source_file(tmp_path / "missing.pdf", settings)


def test_one_bad_file_in_a_batch_adds_none_of_them(settings):
    before = snapshot(settings)
    with pytest.raises(InvalidDocument, match="scanned"):
        add_documents(
            settings,
            [Source("memo.docx", d.fact_docx()), Source("scan.pdf", d.scanned_pdf())],
            embedder=HashingEmbedder(),
        )
    assert snapshot(settings) == before


def new_sentences(settings: Settings, before: set[str]) -> int:
    """How many distinct sentences the live build's passages that were not in `before` hold
    (a sentence that recurs is embedded once)."""
    chunks = read_build_files(live_build_path(settings), False).chunks
    return len({s for c in chunks if c.id not in before for s in split_sentences(c.text)})


# -- good input: asked about and cited -------------------------------------------------------
def test_pdf_docx_html_are_added_asked_about_and_cited_with_pages(settings):
    emb = HashingEmbedder()
    before = {c.id for c in read_build_files(live_build_path(settings), False).chunks}
    before_chunks = len(before)
    report = add_documents(
        settings,
        [
            Source("plan.pdf", d.fact_pdf()),
            Source("memo.docx", d.fact_docx()),
            Source("survey.html", d.fact_html()),
        ],
        embedder=emb,
    )
    added = {doc["format"]: doc for doc in report.documents}
    assert set(added) == {"pdf", "docx", "html"}
    new_chunks = sum(doc["chunks"] for doc in report.documents)
    # Only the new documents' passages (and their sentences) were embedded; the rest reused.
    assert report.ingest.embedded == new_chunks
    assert emb.texts == new_chunks + new_sentences(settings, before)
    assert report.ingest.sentences_embedded == new_sentences(settings, before)
    assert report.ingest.chunks == before_chunks + new_chunks
    assert added["pdf"]["title"] == "Marlowe Valley Strategic Plan 2025-2028"
    assert added["docx"]["title"] == "Harbor Point transport memo"
    assert added["html"]["title"] == "Ridgeline family survey results"
    assert added["html"]["date"] == "2024-05-02"
    assert any("script" in n and "never run" in n for n in report.notes)

    bot = load_assistant(settings, embedder=HashingEmbedder())
    for question, fact, doc, section, pages in (
        (d.PDF_QUESTION, "Quillfeather reading lab", added["pdf"], "Literacy", "2"),
        (d.DOCX_QUESTION, "Tidewater late bus at 5:15 pm", added["docx"], "Late buses", None),
        (d.HTML_QUESTION, "83 percent of families", added["html"], "Findings", None),
    ):
        answer = bot.ask(question)
        assert answer.in_scope, question
        cited = [c for c in answer.citations if fact in c.text]
        assert cited, (question, answer.answer)
        c = cited[0]
        assert (c.doc_id, c.title, c.section, c.pages) == (doc["id"], doc["title"], section, pages)
        assert f"[{c.n}]" in answer.answer
        assert c.text in bot.document_text(doc["id"])  # verbatim, as the reader shows it


def test_html_scripts_are_never_indexed_or_kept(settings):
    add_documents(settings, [Source("survey.html", d.fact_html())], embedder=HashingEmbedder())
    files = read_build_files(live_build_path(settings), False)
    assert d.HTML_FACT in files.documents["ridgeline-family-survey-results"]["text"]
    assert all(d.SCRIPT_MARKER not in c.text for c in files.chunks)
    assert all(d.SCRIPT_MARKER not in doc["text"] for doc in files.documents.values())


def test_pdf_page_numbers_survive_into_every_chunk(settings):
    report = add_documents(settings, [Source("p.pdf", d.fact_pdf())], embedder=HashingEmbedder())
    doc_id = report.documents[0]["id"]
    chunks = [
        c for c in read_build_files(live_build_path(settings), False).chunks if c.doc_id == doc_id
    ]
    assert {c.section: c.pages for c in chunks} == {
        "": "1",
        "Overview": "1",
        "Literacy": "2",
        "Budget": "3",
    }
    assert all("page" not in c.text.lower() for c in chunks)  # the running footer is gone


def test_docx_table_stays_whole_under_its_heading(settings):
    add_documents(settings, [Source("memo.docx", d.fact_docx())], embedder=HashingEmbedder())
    chunks = read_build_files(live_build_path(settings), False).chunks
    tables = [c for c in chunks if c.doc_id == "harbor-point-transport-memo" and c.kind == "table"]
    assert len(tables) == 1
    assert tables[0].section == "Late buses > Riders by route"
    assert tables[0].text == "Route | Riders\nNorth loop | 120\nSouth loop | 95\nHarbor | 40"


def test_title_flag_and_generated_safe_names(settings):
    data = d.fact_docx()
    report = add_documents(
        settings,
        [Source("Board memo (FINAL) v2.docx", data)],
        title="Transport: late buses",
        kind="memo",
        embedder=HashingEmbedder(),
    )
    doc = report.documents[0]
    assert doc["title"] == "Transport: late buses" and doc["kind"] == "memo"
    assert doc["id"] == "transport-late-buses" and doc["file"] == "transport-late-buses.docx"
    assert doc["source_name"] == "Board memo (FINAL) v2.docx"
    assert (settings.user_library_dir / doc["file"]).read_bytes() == data
    with pytest.raises(InvalidDocument, match="one document"):
        add_documents(
            settings,
            [Source("a.md", b"# A\n\nOne."), Source("b.md", b"# B\n\nTwo.")],
            title="Both",
        )


def test_same_title_twice_gets_a_distinct_id(settings):
    first = add_documents(
        settings, [Source("a.md", b"# Notes\n\nThe first notes.")], embedder=HashingEmbedder()
    )
    second = add_documents(
        settings, [Source("b.md", b"# Notes\n\nThe second notes.")], embedder=HashingEmbedder()
    )
    assert (first.documents[0]["id"], second.documents[0]["id"]) == ("notes", "notes-2")


def test_an_unchanged_library_reingests_without_embedding(settings):
    add_documents(settings, [Source("plan.pdf", d.fact_pdf())], embedder=HashingEmbedder())
    emb = HashingEmbedder()
    report = run_ingest(settings, embedder=emb, progress=False)
    assert not report.changed and emb.calls == 0


# -- failures mid-way leave everything as it was ----------------------------------------------
def test_failed_embedding_leaves_library_and_index_whole(settings):
    before = snapshot(settings)
    with pytest.raises(RuntimeError):
        add_documents(settings, [Source("plan.pdf", d.fact_pdf())], embedder=ExplodingEmbedder())
    assert snapshot(settings) == before


def test_failed_manifest_write_unpublishes_the_new_build(settings, monkeypatch):
    before = snapshot(settings)

    def disk_full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(manage, "write_user_manifest", disk_full)
    with pytest.raises(OSError, match="No space"):
        add_documents(settings, [Source("plan.pdf", d.fact_pdf())], embedder=HashingEmbedder())
    monkeypatch.undo()
    assert snapshot(settings) == before


def test_a_kill_between_publish_and_manifest_write_is_rolled_forward(settings, tmp_path):
    """SIGKILL right after the publish: the index serves the new document, the manifest
    never heard of it. Listing shows what is served; the next change writes it down."""
    library = settings.user_library_dir
    before = (library / "manifest.json").read_bytes()
    old = {e["id"] for e in json.loads(before)["documents"]}
    add_documents(settings, [Source("plan.html", d.fact_html())], embedder=HashingEmbedder())
    new = [e for e in read_user_manifest(library) if e.id not in old]
    added = {e.id for e in new}
    # As if killed after the publish: the manifest write never ran, and the add's journal
    # (written before its files were) is still there.
    (library / "manifest.json").write_bytes(before)
    write_pending(library, [e.file for e in new])
    assert added and added <= {r["id"] for r in list_documents(settings)}
    assert not added & {e.id for e in read_user_manifest(library)}
    run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    assert added <= {e.id for e in read_user_manifest(library)}
    assert not (library / PENDING).exists()
    # Nothing was dropped on the way: the document still has its passages.
    listed = {r["id"]: r["chunks"] for r in list_documents(settings)}
    assert all(listed[i] for i in added)


def test_a_manifest_changed_by_hand_is_not_overwritten_with_the_index_record(settings):
    """No change in flight (no journal): the manifest is the truth and the next ingest
    follows it, rather than writing back what the index served."""
    library = settings.user_library_dir
    manifest = json.loads((library / "manifest.json").read_text(encoding="utf-8"))
    manifest["documents"][0]["title"] = "Renamed by hand"
    (library / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    assert [e.title for e in read_user_manifest(library)] == ["Renamed by hand"]
    assert "Renamed by hand" in {r["title"] for r in list_documents(settings)}


def test_a_library_an_earlier_lbw_made_is_taken_on(settings):
    """No marker yet, but a manifest and only its files: lbw made it, so it is marked and used."""
    library = settings.user_library_dir
    (library / MARKER).unlink()
    before = {p.name: p.read_bytes() for p in library.iterdir() if p.is_file()}
    run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    assert (library / MARKER).is_file()
    assert {
        p.name: p.read_bytes() for p in library.iterdir() if p.is_file() and p.name != MARKER
    } == before


def test_files_a_killed_add_wrote_are_deleted_and_nothing_else(settings):
    """Recovery deletes only files named in lbw's journal; a file lbw never wrote makes the
    change refuse (it is not lbw's to delete) and stays as it was."""
    library = settings.user_library_dir
    stray = library / "half-added-plan.pdf"
    stray.write_bytes(b"%PDF-1.4 killed before the publish")
    write_pending(library, [stray.name])  # the journal an add writes before its files
    kept = sorted(p.name for p in library.iterdir() if p.is_file() and p != stray)
    foreign = library / "my-own-notes.md"
    foreign.write_text("mine", encoding="utf-8")
    doc_id = read_user_manifest(library)[0].id
    with pytest.raises(IngestError, match="never listed: my-own-notes.md"):
        remove_document(settings, doc_id)
    assert stray.exists() and foreign.read_text(encoding="utf-8") == "mine"
    foreign.unlink()  # the user moves it out; the change goes through and clears the journal
    remove_document(settings, doc_id)
    assert not stray.exists() and not (library / PENDING).exists()
    left = sorted(p.name for p in library.iterdir() if p.is_file())
    assert set(left) < set(kept) and "manifest.json" in left and MARKER in left


def test_a_second_writer_is_turned_away(settings):
    before = snapshot(settings)
    entered, release = threading.Event(), threading.Event()

    def hold():
        with ingest_lock(settings.store_dir):
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(10)
    try:
        with pytest.raises(IngestError, match="Another ingest"):
            add_documents(settings, [Source("plan.pdf", d.fact_pdf())], embedder=HashingEmbedder())
    finally:
        release.set()
        holder.join()
    assert snapshot(settings) == before


# -- remove and edit ---------------------------------------------------------------------------
def test_remove_drops_the_document_and_its_passages_without_embedding(settings, monkeypatch):
    monkeypatch.setattr(
        "assistant.embedding.embedder.load_default_embedder",
        lambda *_: pytest.fail("removing must not load the model"),
    )
    bundled = sum(1 for r in list_documents(settings) if r["origin"] == "bundled")
    report = remove_document(settings, "oakhaven-leadership-notes")
    assert report.ingest.embedded == 0
    assert [r["id"] for r in list_documents(settings)][bundled:] == []
    assert read_user_manifest(settings.user_library_dir) == []
    assert not (settings.user_library_dir / "oakhaven-leadership-notes.md").exists()
    files = read_build_files(live_build_path(settings), False)
    assert all(c.doc_id != "oakhaven-leadership-notes" for c in files.chunks)
    answer = ask(settings, MD_QUESTION)
    assert all(c.doc_id != "oakhaven-leadership-notes" for c in answer.citations)


@pytest.mark.parametrize(
    ("doc_id", "message"),
    [("look-both-ways", "bundled library.*cannot be changed"), ("nope", "No document")],
)
def test_remove_refuses_bundled_and_unknown_ids(settings, doc_id, message):
    before = snapshot(settings)
    with pytest.raises(InvalidDocument, match=message):
        remove_document(settings, doc_id)
    with pytest.raises(InvalidDocument, match=message):
        edit_document(settings, doc_id, title="Mine now")
    assert snapshot(settings) == before


def test_retitle_shows_in_citations_and_kind_date_need_no_model(settings, monkeypatch):
    emb = HashingEmbedder()
    before = {c.id for c in read_build_files(live_build_path(settings), False).chunks}
    report = edit_document(
        settings, "oakhaven-leadership-notes", title="Leadership notes", embedder=emb
    )
    # a new title is in every passage's embedded text, so its passages are embedded again
    # (with their sentences); the rest is reused
    assert report.ingest.embedded == report.documents[0]["chunks"]
    assert emb.texts == report.ingest.embedded + new_sentences(settings, before)
    answer = ask(settings, MD_QUESTION)
    assert any(c.title == "Leadership notes" for c in answer.citations)
    monkeypatch.setattr(
        "assistant.embedding.embedder.load_default_embedder",
        lambda *_: pytest.fail("a kind or date change must not load the model"),
    )
    report = edit_document(settings, "oakhaven-leadership-notes", kind="minutes", date="2025-01")
    assert report.ingest.changed and report.ingest.embedded == 0
    row = next(r for r in list_documents(settings) if r["id"] == "oakhaven-leadership-notes")
    assert (row["title"], row["kind"]) == ("Leadership notes", "minutes")
    with pytest.raises(InvalidDocument, match="title is empty"):
        edit_document(settings, "oakhaven-leadership-notes", title="   ")


def test_docs_lists_bundled_and_added_documents(settings):
    rows = list_documents(settings)
    assert {r["id"] for r in rows} >= {"look-both-ways", "scale-what", "oakhaven-leadership-notes"}
    for row in rows:
        assert set(row) >= {"id", "title", "kind", "file", "chunks", "added"}
        assert isinstance(row["chunks"], int) and row["chunks"] > 0
        assert (row["added"] is None) == (row["origin"] == "bundled")
    manifest = json.loads((settings.user_library_dir / "manifest.json").read_text())
    assert [e["id"] for e in manifest["documents"]] == ["oakhaven-leadership-notes"]


def test_progress_is_reported_in_order_up_to_published(settings):
    seen: list[tuple[float, str]] = []
    add_documents(
        settings,
        [Source("plan.pdf", d.fact_pdf())],
        embedder=HashingEmbedder(),
        on_progress=lambda fraction, message: seen.append((fraction, message)),
    )
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("Embedding passages") for _, m in seen)
    assert seen[-1][1].startswith("Published")
