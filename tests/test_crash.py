"""Crash safety: `lbw ingest` and `lbw add` killed with SIGKILL at random points.

The real CLI with the real model runs on a two-document library (so each run is short).
Each kind of run is timed once un-killed; kills then land at a random point within that
length, counted either from the start or from the moment its new build folder appears. After
every kill the live index must still be a sealed, whole build that answers a fixed question
with the same citations; after the last kill, un-killed runs must succeed and leave the index
and the user library in agreement.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.core.settings import Settings
from assistant.embedding.onnx import load_query_embedder
from assistant.service import Assistant
from assistant.storage.builds import builds_dir, current_build_id, live_build_path, read_build_files
from assistant.storage.vectors import ChromaStore, chroma_client
from ingest.libfolder import MARKER
from ingest.userlib import read_user_manifest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How do you know a practice is ready to scale?"
KEEP = ("scale-what", "roadmap-for-change")
KILLS = 12
RUN_LIMIT = 120.0  # seconds one CLI run may take before the test gives up on it


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, corpus_dir):
    root = tmp_path_factory.mktemp("crash")
    corpus = root / "corpus"
    corpus.mkdir()
    manifest = json.loads((corpus_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["documents"] = [d for d in manifest["documents"] if d["id"] in KEEP]
    for doc in manifest["documents"]:
        shutil.copy(corpus_dir / doc["file"], corpus / doc["file"])
    (corpus / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return Settings(corpus_dir=corpus, store_dir=root / "store")


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LBW_")}
    env.update(
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        LBW_CORPUS_DIR=str(settings.corpus_dir),
        LBW_STORE_DIR=str(settings.store_dir),
    )
    return env


def _start(settings: Settings, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", *args],
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes any children too
    )


def _run(settings: Settings, *args: str) -> None:
    proc = _start(settings, *args)
    _, err = proc.communicate(timeout=RUN_LIMIT)
    assert proc.returncode == 0, err.decode(errors="replace")


def _builds(settings: Settings) -> set[str]:
    root = builds_dir(settings.store_dir)
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def _await_build(
    proc: subprocess.Popen, settings: Settings, before: set[str], deadline: float
) -> float:
    """Wait until the run's new build folder appears (or the run ends); return that moment."""
    while proc.poll() is None and not (_builds(settings) - before):
        assert time.monotonic() < deadline, "the run never started writing a build"
        time.sleep(0.01)
    return time.monotonic()


def _timed_run(settings: Settings, *args: str) -> tuple[float, float]:
    """Run to the end; return how long it ran, and how long it wrote (new build folder to exit)."""
    before = _builds(settings)
    start = time.monotonic()
    proc = _start(settings, *args)
    wrote = _await_build(proc, settings, before, start + RUN_LIMIT)
    _, err = proc.communicate(timeout=start + RUN_LIMIT - wrote)
    end = time.monotonic()
    assert proc.returncode == 0, err.decode(errors="replace")
    return end - start, end - wrote


def _kill_at(
    proc: subprocess.Popen, settings: Settings, rng: random.Random, writing: bool, span: float
) -> tuple[bool, float]:
    """SIGKILL at a random point of `span` seconds measured from the start, or from the moment
    its new build folder appears. Returns whether it was killed, and when it was not, how long
    it took (the span was too long: this machine runs faster than measured)."""
    start = time.monotonic()
    if writing:
        start = _await_build(proc, settings, _builds(settings), start + RUN_LIMIT)
    try:
        proc.wait(rng.uniform(0.05, 0.9) * span)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return True, 0.0
    return False, time.monotonic() - start


def _add_args(tmp_path: Path, i: object) -> tuple[str, ...]:
    note = tmp_path / f"bus-note-{i}.txt"
    note.write_text(
        f"Transport office note {i}: bus route {i} changes in October; "
        "drivers meet at the depot on Mondays.",
        encoding="utf-8",
    )
    return ("add", str(note), "--title", f"Bus note {i}")


def _live_docs_whole(settings: Settings) -> set[str]:
    """The live build is sealed and whole: every document has passages, every passage a vector."""
    path = live_build_path(settings)
    files = read_build_files(path, with_embeddings=True)
    docs = set(files.documents)
    assert {c.doc_id for c in files.chunks} == docs
    assert files.meta["chunks"] == len(files.chunks) == len(files.embeddings)
    store = ChromaStore(chroma_client(settings, path / "chroma"), files.meta["collection"])
    assert store.count() == len(files.chunks)
    return docs


def _cited(settings: Settings, embedder) -> list[str]:
    answer = Assistant(settings, embedder).ask(QUESTION)
    assert answer.in_scope and answer.citations
    return [c.id for c in answer.citations]


def test_sigkill_at_random_points_never_breaks_the_live_index(tiny, tmp_path):
    settings = tiny
    _run(settings, "ingest", "--quiet")
    embedder = load_query_embedder(settings.models_dir, settings.model_path)
    baseline = _cited(settings, embedder)
    docs = _live_docs_whole(settings)
    assert docs == set(KEEP)

    # Kill points are drawn within each kind of run's measured length, so that they land inside
    # the run whether this machine is busy or idle (a fixed range of delays once outlasted runs).
    spans = {}
    for kind, args in (("ingest", ("ingest", "--rebuild")), ("add", _add_args(tmp_path, "warm"))):
        spans[kind, False], spans[kind, True] = _timed_run(settings, *args)
    docs = _live_docs_whole(settings)
    assert _cited(settings, embedder) == baseline

    rng = random.Random(20240607)
    killed = finished = 0
    for i in range(3 * KILLS):
        if killed == KILLS:
            break
        adding, writing = i % 2 == 1, i % 3 == 2
        kind = "add" if adding else "ingest"
        before = current_build_id(settings.store_dir)
        proc = _start(settings, *(_add_args(tmp_path, i) if adding else ("ingest", "--rebuild")))
        was_killed, took = _kill_at(proc, settings, rng, writing, spans[kind, writing])
        if was_killed:
            killed += 1
        else:
            finished += 1
            spans[kind, writing] = min(spans[kind, writing], took)
            assert proc.returncode == 0, proc.stderr.read().decode(errors="replace")
        proc.stderr.close()

        now = _live_docs_whole(settings)
        committed = set(KEEP) | {e.id for e in read_user_manifest(settings.user_library_dir)}
        # The previous library; or the library as committed by this run; or, for an add
        # killed between publishing and writing the manifest, that library plus its note.
        valid = [docs, committed]
        if adding:
            valid += [docs | {d} for d in now - docs if len(now - docs) == 1]
        assert now in valid, (before, current_build_id(settings.store_dir), now, valid)
        assert _cited(settings, embedder) == baseline
        docs = now

    print(f"\n[crash] {killed} runs killed, {finished} finished before their kill")
    assert killed == KILLS, f"only {killed} runs were killed ({finished} finished first)"

    # Un-killed runs recover: both succeed, incomplete builds are gone, library and index agree.
    # Nothing that was live is dropped: a note whose add was killed after its publish is
    # rolled forward into the manifest rather than silently removed.
    _run(settings, "ingest")
    assert _live_docs_whole(settings) == docs
    assert {e.id for e in read_user_manifest(settings.user_library_dir)} == docs - set(KEEP)
    final = tmp_path / "final-note.txt"
    final.write_text("The district library closes at noon on Fridays.", encoding="utf-8")
    _run(settings, "add", str(final), "--title", "Library hours")
    docs = _live_docs_whole(settings)
    entries = read_user_manifest(settings.user_library_dir)
    assert docs == set(KEEP) | {e.id for e in entries}
    assert "Library hours" in {e.title for e in entries}
    assert all(
        (builds_dir(settings.store_dir) / b / "meta.json").is_file() for b in _builds(settings)
    )
    assert _cited(settings, embedder) == baseline
    # No file a killed add copied in is left behind.
    library = settings.user_library_dir
    stored = {p.name for p in library.iterdir() if p.is_file()}
    assert stored == {e.file for e in entries} | {"manifest.json", MARKER}
    hits = Assistant(settings, embedder).retrieve("When does the district library close?", k=1)
    assert hits[0].title == "Library hours"
