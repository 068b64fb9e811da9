"""A district's own library: the rules and word lists must not misfire on documents a user
adds. A second small library (a strategy memo and a board presentation of a fictional
district, tests/data/district/) with its own questions, written with the documents before
any was run: retrieval finds each question's passage, and scope refuses none of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.core.settings import Settings
from eval.questions import normalize

pytestmark = pytest.mark.integration

DISTRICT = Path(__file__).resolve().parent / "data" / "district"
QUESTIONS = [json.loads(line) for line in (DISTRICT / "questions.jsonl").open() if line.strip()]

# Known misses, kept visible (strict: a fix makes them fail until this list is updated).
# Its words ("lessons", "year two") are in the passage's heading ("Slide 5. Lessons from
# year two"), not in its sentences: the closest-sentence ranking, which reads sentences
# without their heading, puts it 78th, and passages of the bundled library come closer by
# their whole text. Nothing here is particular to an added document; a question index for
# it (`lbw add` with a model) may find it.
RETRIEVAL_MISSES = {
    "What lessons did the district learn in year two?": "ranked 10th: its words are in its heading",
}
SCOPE_MISSES: dict[str, str] = {}


def _cases(misses: dict[str, str]) -> list:
    return [
        pytest.param(
            q,
            id=q["question"][:40],
            marks=[pytest.mark.xfail(reason=misses[q["question"]], strict=True)]
            if q["question"] in misses
            else [],
        )
        for q in QUESTIONS
    ]


@pytest.fixture(scope="module")
def district_bot(tmp_path_factory, corpus_dir, real_store):
    from assistant.embedding.choice import load_embedder
    from assistant.service import load_assistant
    from ingest.manage import add_documents, read_source_file

    root = tmp_path_factory.mktemp("district")
    shutil.copytree(real_store, root / "store")
    settings = Settings(corpus_dir=corpus_dir, store_dir=root / "store")
    sources = [
        read_source_file(DISTRICT / name, settings)
        for name in ("strategy-memo.md", "board-presentation.txt")
    ]
    add_documents(settings, sources, kind="plan", embedder=load_embedder(settings))
    return load_assistant(settings)


@pytest.mark.parametrize("item", _cases(RETRIEVAL_MISSES))
def test_retrieval_finds_the_district_passage(district_bot, item):
    passages = district_bot.retrieve(item["question"], k=8)
    assert any(normalize(item["evidence"]) in normalize(p.text) for p in passages)


@pytest.mark.parametrize("item", _cases(SCOPE_MISSES))
def test_scope_answers_the_district_question(district_bot, item):
    answer = district_bot.ask(item["question"])
    assert answer.outcome != "not_in_library", answer.answer
