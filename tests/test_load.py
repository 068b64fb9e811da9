"""Load and publishing under load: 20 askers, 1,000 questions, 0 errors, on both stores.

`pytest -s` prints p50/p95 latency. The embedded and server variants use the hashing
embedder (fast, exact); the real-model variant is marked integration.
"""

from __future__ import annotations

import threading
import time

import pytest

from assistant.core.settings import Settings
from assistant.service import Assistant, load_assistant
from ingest.pipeline import run_ingest
from tests.fakes import HashingEmbedder
from tests.load import QUESTIONS, check_answer, references, run_load

pytestmark = pytest.mark.slow


def _built(settings: Settings, corpus_dir) -> tuple[Settings, HashingEmbedder]:
    settings = Settings(**{**settings.__dict__, "corpus_dir": corpus_dir})
    emb = HashingEmbedder()
    run_ingest(settings, embedder=emb, progress=False)
    return settings, emb


def test_twenty_askers_thousand_questions_no_errors(store_settings, corpus_dir):
    settings, emb = _built(store_settings, corpus_dir)
    bot = Assistant(settings, emb)
    report = run_load(bot, total=1000, workers=20)
    kind = "server" if settings.server_mode else "embedded"
    print("\n" + report.summary(f"{kind} store, hashing embedder"))
    assert report.errors == []
    assert len(report.latencies_ms) == 1000
    # The same question gets the same answer under load as alone.
    alone = bot.ask(*QUESTIONS[0])
    again = bot.ask(*QUESTIONS[0])
    assert [c.id for c in alone.citations] == [c.id for c in again.citations]


def test_askers_keep_getting_complete_answers_while_ingest_publishes(store_settings, corpus_dir):
    settings, emb = _built(store_settings, corpus_dir)
    bot = Assistant(settings, emb)
    expected = references(bot)
    stop = threading.Event()
    errors: list[str] = []
    seen: set[str] = set()
    answered = [0]

    def asker(n: int) -> None:
        i = n
        while not stop.is_set():
            question, history = QUESTIONS[i % len(QUESTIONS)]
            try:
                answer = bot.ask(question, history)
                check_answer(bot, answer, expected[i % len(QUESTIONS)])
                seen.add(bot.index.build_id)
                answered[0] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is a test failure
                errors.append(f"{type(exc).__name__}: {exc}")
            i += 1

    threads = [threading.Thread(target=asker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    published = []
    try:
        for _ in range(4):  # each publish also prunes builds two generations old
            time.sleep(0.3)
            published.append(run_ingest(settings, rebuild=True, embedder=emb, progress=False))
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    print(
        f"\n[publish] {answered[0]} answers during {len(published)} publishes, builds seen {len(seen)}"
    )
    assert errors == []
    assert answered[0] > 20
    assert bot.index.build_id == published[-1].build_id
    assert len(seen) >= 2  # askers really moved from one build to the next


@pytest.mark.integration
def test_load_on_the_real_model(tmp_path_factory, corpus_dir):
    settings = Settings(corpus_dir=corpus_dir, store_dir=tmp_path_factory.mktemp("load-real"))
    run_ingest(settings, progress=False)
    bot = load_assistant(settings)
    report = run_load(bot, total=1000, workers=20)
    print("\n" + report.summary("embedded store, real model (ONNX question embedder)"))
    assert report.errors == []
