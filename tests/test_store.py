"""One contract, two stores: every test runs on embedded Chroma and on a `chroma run` server.

The server is started on 127.0.0.1 by the session fixture in tests/fixtures/servers.py (tests.servers).
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from assistant.service import Assistant
from assistant.storage.builds import builds_dir, current_build_id
from assistant.storage.vectors import ChromaStore, chroma_client
from ingest.pipeline import run_ingest
from tests.fakes import HashingEmbedder


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _store(settings, name="contract", create=True) -> ChromaStore:
    client = chroma_client(settings, settings.store_dir / "chroma")
    return ChromaStore(client, f"{settings.collection_prefix}-{name}", create=create)


def test_nearest_neighbours_come_back_with_cosine_similarity(store_settings):
    rng = np.random.default_rng(7)
    vectors = _unit(rng.normal(size=(300, 32)).astype(np.float32))  # more than one add batch
    ids = [f"c{i:03d}" for i in range(300)]
    store = _store(store_settings)
    store.add(ids, vectors, [{"doc_id": f"d{i % 3}", "n": i} for i in range(300)])
    assert store.count() == 300

    query = _unit(vectors[42:43] + 0.05 * rng.normal(size=(1, 32)).astype(np.float32))[0]
    hits = store.query(query, 5)
    exact = vectors @ query
    assert [h[0] for h in hits] == [ids[i] for i in np.argsort(-exact)[:5]]
    assert hits[0][0] == "c042"
    for cid, score in hits:
        assert score == pytest.approx(float(exact[int(cid[1:])]), abs=1e-4)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)

    reopened = _store(store_settings, create=False)  # a second client sees the same vectors
    assert reopened.count() == 300
    assert reopened.query(query, 1)[0][0] == "c042"


def test_k_larger_than_the_collection_and_an_empty_collection(store_settings):
    store = _store(store_settings)
    assert store.count() == 0 and store.query(np.ones(8, np.float32) / np.sqrt(8), 5) == []
    vectors = _unit(np.eye(3, 8, dtype=np.float32))
    store.add(["a", "b", "c"], vectors, [{"i": 0}, {"i": 1}, {"i": 2}])
    hits = store.query(vectors[1], 10)
    assert len(hits) == 3 and hits[0] == ("b", pytest.approx(1.0, abs=1e-5))


def test_missing_and_deleted_collections(store_settings):
    with pytest.raises(Exception):  # noqa: B017 - Chroma's error type differs by mode
        _store(store_settings, "never-made", create=False)
    store = _store(store_settings, "to-drop")
    store.add(["x"], _unit(np.ones((1, 4), np.float32)), [{"i": 0}])
    store.delete_collection()
    with pytest.raises(Exception):  # noqa: B017
        _store(store_settings, "to-drop", create=False)


def test_ingest_publish_and_prune_on_each_store(store_settings, corpus_dir, tmp_path):
    settings = store_settings.__class__(**{**store_settings.__dict__, "corpus_dir": corpus_dir})
    emb = HashingEmbedder()
    first = run_ingest(settings, embedder=emb, progress=False)
    bot = Assistant(settings, emb)
    answer = bot.ask("How fast should a district move from pilot to scale?")
    assert answer.in_scope and answer.citations
    for c in answer.citations:
        assert c.text in bot.document_text(c.doc_id)
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer + answer.more)} == {
        c.n for c in answer.citations
    }

    for _ in range(3):  # each rebuild is a new collection; only KEEP_BUILDS survive
        last = run_ingest(settings, rebuild=True, embedder=emb, progress=False)
    assert current_build_id(settings.store_dir) == last.build_id
    kept = sorted(p.name for p in builds_dir(settings.store_dir).iterdir())
    assert first.build_id not in kept and len(kept) == 2
    if settings.server_mode:
        from assistant.storage.builds import collection_name

        live = {c.name for c in chroma_client(settings).list_collections()}
        mine = {n for n in live if n.startswith(settings.collection_prefix)}
        assert mine == {collection_name(settings, b) for b in kept}
    again = bot.ask("How fast should a district move from pilot to scale?")
    assert bot.index.build_id == last.build_id
    assert [c.id for c in again.citations] == [c.id for c in answer.citations]
    shutil.rmtree(settings.store_dir)


@pytest.mark.slow
def test_token_reaches_a_token_checking_proxy_and_no_token_is_refused(chroma_server, tmp_path):
    from assistant.core.settings import Settings
    from tests.servers import token_proxy

    with token_proxy(chroma_server, "s3cret-token") as proxy:
        env = {**proxy.env, "LBW_STORE_DIR": str(tmp_path), "LBW_CHROMA_TOKEN": "s3cret-token"}
        settings = Settings.from_env(env, collection_prefix="tok")
        store = _store(settings)
        vectors = _unit(np.eye(2, 4, dtype=np.float32))
        store.add(["a", "b"], vectors, [{"i": 0}, {"i": 1}])
        assert store.query(vectors[1], 1)[0][0] == "b"

        for token in (None, "wrong"):
            bad = Settings(
                store_dir=tmp_path,
                chroma_host=proxy.host,
                chroma_port=proxy.port,
                chroma_token=token,
                collection_prefix="tok",
            )
            with pytest.raises(Exception, match="(?i)unauthori|401|token"):
                _store(bad, create=False).count()
