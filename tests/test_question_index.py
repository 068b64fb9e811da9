"""The question index: the written questions keyed to their passages, embedded at ingest,
voting in retrieval, joining the scope decision, and offered as related questions."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest

from assistant.answer import scope as scoping
from assistant.core.settings import Settings
from assistant.retrieval import hybrid
from assistant.retrieval.related import related_questions
from assistant.storage.questions import QUESTIONS, read_questions
from ingest.pipeline import run_ingest
from ingest.questions import (
    WrittenQuestion,
    fingerprint,
    import_writer_file,
    key_questions,
    parse_line,
    read_question_files,
)
from tests.fakes import HashingEmbedder

ROOT = Path(__file__).resolve().parent.parent
QUESTION_DIR = ROOT / "corpus" / "questions"


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


# -- the data ---------------------------------------------------------------------------------


def test_every_shipped_question_names_a_passage_of_the_library(prepared):
    written = read_question_files(QUESTION_DIR)
    lines = sum(1 for p in QUESTION_DIR.glob("*.jsonl") for ln in p.open() if ln.strip())
    assert len(written) == lines > 1000  # every line parses
    keyed = key_questions(written, prepared.chunks)
    assert keyed.stale == {} and keyed.rekeyed == 0
    assert len(set(keyed.rows)) > 150  # spread over the library, not a few passages


def test_provenance_is_shipped_beside_the_questions():
    readme = (QUESTION_DIR / "README.md").read_text()
    assert "2026-12-06" in readme and "WRITER.md" in readme
    assert (QUESTION_DIR / "WRITER.md").is_file()


# Near-duplicate: the two questions' words (lower case, letters and digits) agree at a
# difflib ratio of 0.9 or more. That catches a question copied with a typo fixed, an article
# or a punctuation mark changed; two questions written independently about one passage score
# well below it (the closest pair between the index and the eval sets is 0.76).
NEAR_DUPLICATE = 0.9


def test_no_eval_question_is_a_near_duplicate_of_an_index_question():
    # The loaded questions and the second round kept beside them (corpus/questions/training).
    written = [*read_question_files(QUESTION_DIR), *read_question_files(QUESTION_DIR / "training")]
    assert len(written) > 1800
    index = [_norm(q.question) for q in written]
    evals: list[str] = []
    for path in [*sorted((ROOT / "eval" / "blind").glob("*.jsonl")), ROOT / "eval/devset.jsonl"]:
        evals += _eval_texts(path)
    evals += _eval_texts(ROOT / "eval" / "heldout.jsonl")
    assert len(evals) > 400
    matcher = SequenceMatcher(autojunk=False)
    close = []
    for e in evals:
        matcher.set_seq2(e)
        for q in index:
            matcher.set_seq1(q)
            if (
                matcher.real_quick_ratio() < NEAR_DUPLICATE
                or matcher.quick_ratio() < NEAR_DUPLICATE
            ):
                continue
            if matcher.ratio() >= NEAR_DUPLICATE:
                close.append((e, q))
    assert close == []


def _eval_texts(path: Path) -> list[str]:
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            out.append(_norm(record["question"]))
            out += [_norm(t["content"]) for t in record.get("history") or [] if t["role"] == "user"]
    return out


def test_the_near_duplicate_check_catches_a_copied_question():
    a = _norm("How did Fulton County decide which schools went first?")
    b = _norm("How did Fulton County decide which schools went first")
    c = _norm("How did Fulton Cnty decide which school went first?")
    assert SequenceMatcher(None, a, b).ratio() >= NEAR_DUPLICATE
    assert SequenceMatcher(None, a, c).ratio() >= NEAR_DUPLICATE


# -- keying -----------------------------------------------------------------------------------


def test_a_question_follows_its_passage_text_not_its_id(prepared):
    chunk = prepared.chunks[10]
    q = WrittenQuestion(chunk.id, fingerprint(chunk.text), "Where do we start?")
    assert key_questions([q], prepared.chunks).rows == [10]
    # The heading changed (a new id), the text did not: found by fingerprint, counted.
    renamed = replace(chunk, id="0" * 20, section="Another heading")
    keyed = key_questions([q], [*prepared.chunks[:10], renamed])
    assert keyed.rows == [10] and keyed.rekeyed == 1
    # The text changed: the question is left out and reported, never attached elsewhere.
    rewritten = replace(chunk, text=chunk.text + " A new closing sentence.")
    keyed = key_questions([q], [*prepared.chunks[:10], rewritten])
    assert keyed.rows == [] and keyed.stale == {chunk.id: 1}


def test_unusable_lines_are_refused_and_counted(tmp_path, prepared):
    chunk = prepared.chunks[0]
    good = {"passage_id": chunk.id, "question": "What is this about?", "form": "direct"}
    assert parse_line(json.dumps(good)).question == "What is this about?"
    assert parse_line("{not json") is None
    assert parse_line(json.dumps({**good, "question": "x" * 301})) is None
    assert parse_line(json.dumps({"question": "no passage"})) is None
    source = tmp_path / "writer.jsonl"
    source.write_text(
        "\n".join([json.dumps(good), "{broken", json.dumps({**good, "passage_id": "nope"})])
    )
    counts = import_writer_file(source, tmp_path / "Q.jsonl", prepared.chunks)
    assert counts == {"kept": 1, "unparsed": 1, "unknown_passage": 1}
    kept = json.loads((tmp_path / "Q.jsonl").read_text())
    assert kept["question"] == good["question"]
    assert kept["passage_fingerprint"] == fingerprint(chunk.text)


# -- ingest -----------------------------------------------------------------------------------


def test_ingest_embeds_the_questions_once_and_reuses_them(store_copy, store):
    settings = store_copy(store)
    questions = read_questions(_live(settings), 10_000)
    assert questions is not None and len(questions.texts) > 1000
    assert np.allclose(np.linalg.norm(questions.vectors, axis=1), 1.0, atol=1e-4)
    (_live(settings) / QUESTIONS).unlink()  # an older build: ingest adds the index alone
    embedder = HashingEmbedder()
    report = run_ingest(settings, embedder=embedder, progress=False)
    assert report.changed and report.embedded == 0 and report.sentences_embedded == 0
    assert report.questions_embedded == report.questions == len(questions.texts)
    again = run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    assert not again.changed


def _live(settings: Settings) -> Path:
    build = (Path(settings.store_dir) / "CURRENT").read_text().strip()
    return Path(settings.store_dir) / "builds" / build


# -- retrieval, scope, related ----------------------------------------------------------------


def test_a_written_question_finds_its_passage(bot):
    questions = bot.index.question_vectors
    row = len(questions.texts) // 2
    owner = bot.index.chunks[int(questions.owners[row])]
    asked = questions.texts[row]
    top = [p.id for p in bot.retrieve(asked, k=8)]
    assert any(owner.id in pid.split("+") for pid in top)


def test_the_question_index_votes_only_when_near(bot, monkeypatch):
    plan, index = bot.plan("Zebra quartz violin?")
    found = index.retrieve(plan, 8)
    assert found.nearest_question is not None and found.nearest_question < hybrid.QUESTION_MIN
    monkeypatch.setattr(hybrid, "QUESTION_WEIGHT", 0.0)
    plan2, _ = bot.plan("Zebra quartz violin?")
    assert [s.chunk.id for s in index.retrieve(plan2, 8).ranked] == [
        s.chunk.id for s in found.ranked
    ]


def test_retrieval_and_scope_embed_the_question_once(bot):
    embedder = bot.index.retriever.embedder
    before = embedder.calls
    plan, index = bot.plan("How did districts decide where to pilot?")
    found, decision = bot.scope(plan, index)
    assert found is not None and decision.in_scope
    assert embedder.calls == before + 1
    assert plan.vector is not None and abs(float(np.linalg.norm(plan.vector)) - 1) < 1e-5


def test_nearness_below_every_floor_declines_and_far_below_is_confident():
    far = scoping.Nearness(0.1, 0.1, 0.2)
    assert scoping.below_floor(far, (0.3, 0.4), 0.4)
    assert scoping.below_floor(far, (0.3, 0.4), 0.4, margin=0.1)
    assert not scoping.below_floor(far, (0.3, 0.4), 0.4, margin=0.25)
    asked = scoping.Nearness(0.1, 0.1, 0.45)  # a written question is near: in the library
    assert not scoping.below_floor(asked, (0.3, 0.4), 0.4)
    assert scoping.below_floor(asked, (0.3, 0.4), None)  # without the question index
    assert not scoping.below_floor(far, None, 0.4)  # an uncalibrated embedder refuses nothing


def test_a_product_pick_is_a_confident_refusal(bot):
    plan, index = bot.plan("Which LMS vendor should we buy?")
    decision = scoping.precheck(plan, index)
    assert decision is not None and not decision.in_scope and decision.confident


def test_related_questions_come_from_the_answers_passages(bot):
    answer = bot.ask("How did districts decide where to pilot?")
    assert 1 <= len(answer.related) <= 3
    assert answer.to_dict()["related"] == answer.related
    plan, index = bot.plan("How did districts decide where to pilot?")
    found = index.retrieve(plan, 8)
    questions = index.question_vectors
    owners = {c for s in found.chosen[:5] for c in s.chunk.id.split("+")}
    for text in related_questions(found, index):
        rows = [i for i, t in enumerate(questions.texts) if t == text]
        assert any(index.chunks[int(questions.owners[i])].id in owners for i in rows)
        assert _norm(text) != _norm(plan.question)


def test_no_related_questions_under_a_refusal(bot):
    answer = bot.ask("Which LMS vendor should we buy?")
    assert answer.related == [] and "related" not in answer.to_dict()


def test_suggested_questions_span_the_documents(bot):
    suggested = bot.suggested_questions(6)
    assert len(suggested) == 6 and len(set(suggested)) == 6
    written = {q.question for q in read_question_files(QUESTION_DIR)}
    assert set(suggested) <= written


@pytest.mark.parametrize("n", [1, 3])
def test_suggestions_honour_the_count(bot, n):
    assert len(bot.suggested_questions(n)) == n
