"""Sentence vectors: embedded at ingest with their passages, reused like them, read back
whole or reported damaged, and used by retrieval, the scope step and the composer without
embedding sentences per question."""

import shutil

import numpy as np
import pytest

from assistant.core.errors import IndexMissing
from assistant.core.settings import Settings
from assistant.core.text import split_sentences
from assistant.retrieval.library import open_index
from assistant.storage.builds import (
    SENTENCES,
    SentenceVectors,
    builds_dir,
    current_build_id,
    read_build_files,
    read_sentences,
)
from ingest.pipeline import run_ingest
from tests.fakes import HashingEmbedder


@pytest.fixture
def settings(tmp_path, corpus_dir):
    lib = tmp_path / "corpus"
    shutil.copytree(corpus_dir, lib)
    return Settings(corpus_dir=lib, store_dir=tmp_path / "store")


def live(settings):
    return builds_dir(settings.store_dir) / current_build_id(settings.store_dir)


def test_ingest_embeds_every_passages_sentences_in_passage_order(settings):
    emb = HashingEmbedder()
    report = run_ingest(settings, embedder=emb, progress=False)
    files = read_build_files(live(settings))
    s = files.sentences
    expected = [t for c in files.chunks for t in split_sentences(c.text)]
    assert s is not None and s.texts == expected
    # passages, then sentences, then the question index's questions, each distinct text once
    assert len(set(expected)) < len(expected)  # the library repeats some sentences
    assert report.sentences_embedded == len(set(expected))
    assert emb.texts == report.chunks + len(set(expected)) + report.questions_embedded
    for row, chunk in enumerate(files.chunks):
        texts, vectors = s.of(row)
        assert texts == split_sentences(chunk.text)
        assert np.allclose(vectors, emb.embed_batch(texts)) if texts else len(vectors) == 0


def test_unchanged_sentences_are_reused_and_a_changed_passages_are_embedded(settings):
    emb = HashingEmbedder()
    run_ingest(settings, embedder=emb, progress=False)
    path = settings.corpus_dir / "scale-what.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Scale must be the solution.", "Scale must be THE one."), "utf-8")
    emb.texts = 0
    report = run_ingest(settings, embedder=emb, progress=False)
    files = read_build_files(live(settings))
    changed = [c for c in files.chunks if "Scale must be THE one." in c.text]
    assert report.embedded == len(changed) == 1
    assert report.sentences_embedded == len(set(split_sentences(changed[0].text))) > 0
    assert emb.texts == 1 + report.sentences_embedded
    assert files.sentences.texts == [t for c in files.chunks for t in split_sentences(c.text)]


def test_a_build_without_sentence_vectors_gets_them_without_reembedding_passages(settings):
    emb = HashingEmbedder()
    first = run_ingest(settings, embedder=emb, progress=False)
    (live(settings) / SENTENCES).unlink()  # a build made before sentence vectors
    assert read_build_files(live(settings)).sentences is None
    emb.texts = 0
    report = run_ingest(settings, embedder=emb, progress=False)
    files = read_build_files(live(settings))
    assert report.changed and report.embedded == 0 and report.build_id != first.build_id
    assert emb.texts == report.sentences_embedded == len(set(files.sentences.texts)) > 1000
    again = run_ingest(settings, embedder=emb, progress=False)
    assert not again.changed  # and now it is up to date


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong owners"])
def test_a_damaged_sentences_file_is_reported_and_ingest_repairs_it(settings, damage):
    run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    path = live(settings) / SENTENCES
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    else:
        with np.load(path) as data:
            parts = dict(data)
        parts["owners"] = parts["owners"] + 10_000  # rows the build does not have
        np.savez(path, **parts)
    with pytest.raises(IndexMissing, match=r"sentences\.npz.*lbw ingest"):
        read_sentences(live(settings), 200)
    with pytest.raises(IndexMissing, match="sentences.npz"):
        open_index(settings, HashingEmbedder())
    emb = HashingEmbedder()
    report = run_ingest(settings, embedder=emb, progress=False)
    assert report.changed and report.embedded == 0  # passage vectors reused, sentences redone
    assert report.sentences_embedded == emb.texts > 1000
    assert read_build_files(live(settings)).sentences is not None


def test_closest_sentence_ranks_the_passage_holding_the_one_matching_sentence():
    vectors = np.eye(4, dtype=np.float32)
    s = SentenceVectors(np.array([0, 0, 1, 2], np.int32), ["a", "b", "c", "d"], vectors)
    best = s.best_per_passage(np.array([0, 0.6, 0, 0.8], np.float32), 4)
    # passage 0's best is its second sentence (0.6), passage 2's its only one (0.8), and
    # passage 3 has no sentences at all
    assert best.tolist() == pytest.approx([0.6, 0.0, 0.8, -1.0])


def test_index_serves_stored_sentences_without_embedding_them(store):
    emb = HashingEmbedder()
    index = open_index(Settings(store_dir=store), emb)
    for chunk in index.chunks[:20]:
        texts, vectors = index.sentences(chunk)
        assert texts == split_sentences(chunk.text) and len(vectors) == len(texts)
    section = next(p for p in index.shown.values() if "+" in p.id)
    texts, _ = index.sentences(section)
    parts = [index.retriever.chunks[i] for i in section.id.split("+")]
    assert texts == [t for c in parts for t in split_sentences(c.text)]
    assert emb.calls == 0


def test_a_question_matching_one_sentence_of_a_long_passage_finds_that_passage(store):
    emb = HashingEmbedder()
    index = open_index(Settings(store_dir=store), emb)
    chunk = max(index.chunks, key=lambda c: len(split_sentences(c.text)))
    sentence = max(split_sentences(chunk.text), key=len)
    ranked = index.retriever.closest_sentences(emb.embed_query(sentence), 5)
    assert ranked[0][0] == chunk.id and ranked[0][1] == pytest.approx(1.0, abs=1e-5)
