"""Ingest publishes atomically, re-runs cheaply and never loses the serving index."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assistant.core.errors import IndexMissing, IngestError
from assistant.core.settings import Settings
from assistant.embedding.embedder import TEXTS_PER_CALL
from assistant.service import load_assistant
from assistant.storage.builds import builds_dir, current_build_id
from ingest.pipeline import run_ingest
from tests.fakes import ExplodingEmbedder, HashingEmbedder


@pytest.fixture
def corpus_copy(tmp_path, corpus_dir):
    lib = tmp_path / "corpus"
    shutil.copytree(corpus_dir, lib)
    return lib


@pytest.fixture
def settings(tmp_path, corpus_copy):
    return Settings(corpus_dir=corpus_copy, store_dir=tmp_path / "store")


def test_unchanged_library_embeds_nothing_and_rebuild_starts_over(settings):
    emb = HashingEmbedder()
    first = run_ingest(settings, embedder=emb, progress=False)
    assert first.changed and first.embedded == first.chunks > 150
    second = run_ingest(settings, embedder=emb, progress=False)
    assert not second.changed and second.embedded == 0 and second.build_id == first.build_id
    rebuilt = run_ingest(settings, rebuild=True, embedder=emb, progress=False)
    assert (
        rebuilt.changed
        and rebuilt.embedded == rebuilt.chunks
        and rebuilt.build_id != first.build_id
    )


def test_changed_document_reembeds_only_its_new_passages(settings, corpus_copy):
    emb = HashingEmbedder()
    first = run_ingest(settings, embedder=emb, progress=False)
    path = corpus_copy / "scale-what.txt"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "Scale must be the solution.", "Scale must be THE solution."
        ),
        encoding="utf-8",
    )
    second = run_ingest(settings, embedder=emb, progress=False)
    assert second.changed and 1 <= second.embedded <= 3
    assert second.reused == second.chunks - second.embedded and second.chunks == first.chunks


def test_failed_ingest_leaves_previous_index_serving_whole(settings, corpus_copy):
    run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    live = current_build_id(settings.store_dir)
    bot = load_assistant(settings, embedder=HashingEmbedder())
    before = bot.ask("What did Fulton do to roll out personalized learning?")
    (corpus_copy / "new.txt").write_text(
        "A new memo about feeder patterns. " * 40, encoding="utf-8"
    )
    manifest = json.loads((corpus_copy / "manifest.json").read_text())
    manifest["documents"].append({"id": "memo", "title": "Memo", "file": "new.txt"})
    (corpus_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RuntimeError):
        run_ingest(settings, rebuild=True, embedder=ExplodingEmbedder(after=2), progress=False)
    assert current_build_id(settings.store_dir) == live
    assert [p.name for p in builds_dir(settings.store_dir).iterdir()] == [
        live
    ]  # the partial build is gone
    after = load_assistant(settings, embedder=HashingEmbedder()).ask(
        "What did Fulton do to roll out personalized learning?"
    )
    assert after.answer == before.answer and after.citations == before.citations


def test_bad_library_is_a_clear_error_and_changes_nothing(settings, corpus_copy):
    run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    live = current_build_id(settings.store_dir)
    (corpus_copy / "manifest.json").write_text("{ not json")
    with pytest.raises(IngestError, match="manifest"):
        run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    (corpus_copy / "manifest.json").write_text(
        json.dumps({"documents": [{"id": "x", "title": "X", "file": "missing.txt"}]})
    )
    with pytest.raises(IngestError, match="missing.txt"):
        run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    assert current_build_id(settings.store_dir) == live


def test_interrupted_build_without_meta_is_never_served(settings):
    emb = HashingEmbedder()
    first = run_ingest(settings, embedder=emb, progress=False)
    partial = builds_dir(settings.store_dir) / "29990101T000000-deadbeef"
    partial.mkdir()
    (partial / "chunks.jsonl").write_text("")
    bot = load_assistant(settings, embedder=emb)
    assert bot.index.build_id == first.build_id
    run_ingest(settings, rebuild=True, embedder=emb, progress=False)
    assert not partial.exists()  # the next ingest cleans up what a crash left


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissing, match="lbw ingest"):
        load_assistant(Settings(store_dir=tmp_path / "nothing"), embedder=HashingEmbedder())


def test_reader_switches_to_a_newly_published_index(settings, corpus_copy):
    emb = HashingEmbedder()
    run_ingest(settings, embedder=emb, progress=False)
    bot = load_assistant(settings, embedder=emb)
    old = bot.index.build_id
    run_ingest(settings, rebuild=True, embedder=emb, progress=False)
    assert bot.index.build_id != old
    assert np.isfinite([p.score for p in bot.retrieve("need vs readiness")]).all()


def test_builds_made_in_the_same_second_prune_to_the_newest(tmp_path):
    """Ids sort in creation order, so `prune` keeps the two newest builds, never an older one
    that happened to share their second (whole-second ids with a random suffix once did)."""
    from assistant.storage.builds import KEEP_BUILDS, new_build_id, prune, publish

    ids = [new_build_id() for _ in range(200)]
    assert sorted(ids) == ids and len(set(ids)) == len(ids)

    made = []
    for _ in range(4):
        build_id = new_build_id()
        (builds_dir(tmp_path) / build_id).mkdir(parents=True)
        (builds_dir(tmp_path) / build_id / "meta.json").write_text("{}")
        made.append(build_id)
    publish(tmp_path, made[-1])
    prune(tmp_path)
    assert sorted(p.name for p in builds_dir(tmp_path).iterdir()) == made[-KEEP_BUILDS:]
    # An id from before microseconds (same second, no fraction) still counts as older.
    legacy = made[-1][:15] + "-ffffffff"
    assert legacy < made[-1]


def _full_checks(monkeypatch) -> list:
    """The builds whose vectors ingest opened Chroma to check (vectors_problem), in order."""
    import ingest.pipeline

    real, seen = ingest.pipeline.vectors_problem, []

    def spy(settings, path, meta):
        seen.append(path.name)
        return real(settings, path, meta)

    monkeypatch.setattr(ingest.pipeline, "vectors_problem", spy)
    return seen


def test_unchanged_reingest_opens_chroma_only_when_the_chroma_folder_changed(settings, monkeypatch):
    """A build records its `chroma` folder's files and sizes; an unchanged re-ingest compares
    them and opens the collection only when they differ, or when the build has no record."""
    from assistant.storage.vectors import vectors_unchanged

    first = run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    live = builds_dir(settings.store_dir) / first.build_id
    meta = json.loads((live / "meta.json").read_text())
    database = live / "chroma" / "chroma.sqlite3"
    assert meta["chroma_files"]["chroma.sqlite3"] == database.stat().st_size
    assert len(meta["chroma_files"]) > 1  # the database and the collection's own files
    checks = _full_checks(monkeypatch)

    # As sealed: no check, no model (none is passed, and none is needed).
    assert not run_ingest(settings, progress=False).changed and checks == []
    # A file more than the record: the full check runs, finds the vectors whole, no new build.
    (live / "chroma" / "stray.bin").write_bytes(b"x")
    assert not run_ingest(settings, progress=False).changed and checks == [first.build_id]
    (live / "chroma" / "stray.bin").unlink()
    # The same folder served from a Chroma server: never taken at a glance.
    assert vectors_unchanged(settings, live, meta)
    assert not vectors_unchanged(replace(settings, chroma_host="127.0.0.1"), live, meta)
    # A build sealed before the record: the full check, every time.
    (live / "meta.json").write_text(
        json.dumps({k: v for k, v in meta.items() if k != "chroma_files"})
    )
    assert not run_ingest(settings, progress=False).changed and len(checks) == 2
    (live / "meta.json").write_text(json.dumps(meta))
    # A truncated database changes its size: found, and a new build gets the stored vectors.
    database.write_bytes(database.read_bytes()[:1000])
    repaired = run_ingest(settings, progress=False)
    assert repaired.changed and repaired.embedded == 0 and "cannot be used" in repaired.note
    assert len(checks) == 3
    assert not run_ingest(settings, progress=False).changed and len(checks) == 3


def test_unchanged_reingest_imports_neither_the_model_nor_chroma(settings):
    """Behaviour, not timing: a fresh process re-ingesting an unchanged library never imports
    torch, sentence-transformers or chromadb (their imports are most of its time)."""
    run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    script = (
        "import sys; from pathlib import Path; from assistant.core.settings import Settings; "
        "from ingest.pipeline import run_ingest; "
        "r = run_ingest(Settings(corpus_dir=Path(sys.argv[1]), store_dir=Path(sys.argv[2])), "
        "progress=False); "
        "heavy = ('torch', 'sentence_transformers', 'transformers', 'chromadb', 'onnxruntime'); "
        "print(r.changed, r.embedded, [m for m in heavy if m in sys.modules])"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", script, str(settings.corpus_dir), str(settings.store_dir)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "ANONYMIZED_TELEMETRY": "False"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "False 0 []"


def test_new_passages_are_embedded_longest_first_and_stored_in_library_order(settings):
    """Batches of passages of about one length (as sentence-transformers forms them within a
    call) pad less; each vector still lands on its own passage."""
    from assistant.storage.builds import read_build_files

    class Recording(HashingEmbedder):
        def __init__(self):
            super().__init__()
            self.batches: list[list[str]] = []

        def embed_batch(self, texts):
            self.batches.append(list(texts))
            return super().embed_batch(texts)

    emb = Recording()
    report = run_ingest(settings, embedder=emb, progress=False)
    # the passages' batches, then the sentences' (tests/test_sentences.py), then the
    # questions' (tests/test_question_index.py)
    passages = emb.batches[: -(-report.chunks // TEXTS_PER_CALL)]
    lengths = [len(t) for batch in passages for t in batch]
    assert len(lengths) == report.chunks and lengths == sorted(lengths, reverse=True)
    assert all(len(batch) <= TEXTS_PER_CALL for batch in passages)
    after = emb.batches[len(passages) :]
    sentence_batches = after[: -(-report.sentences_embedded // TEXTS_PER_CALL)]
    sentences = [len(t) for batch in sentence_batches for t in batch]
    assert len(sentences) == report.sentences_embedded
    assert sentences == sorted(sentences, reverse=True)
    questions = [len(t) for batch in after[len(sentence_batches) :] for t in batch]
    assert len(questions) == report.questions_embedded
    assert questions == sorted(questions, reverse=True)
    files = read_build_files(builds_dir(settings.store_dir) / report.build_id)
    expected = HashingEmbedder().embed_batch([c.indexed_text() for c in files.chunks])
    assert np.allclose(files.embeddings, expected)
