"""Evaluation: matching, question-set parsing, scoring with canned retrievers, the stock recipe."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from assistant.core.types import Answer, Citation, Passage, Turn
from eval import check_evidence
from eval.scoring import (
    EvalQuestion,
    QuestionSetError,
    StockRecipe,
    evaluate,
    evaluate_answers,
    evidence_hit,
    format_report,
    load_questions,
    normalize,
    run_eval,
    systems_named,
)


def passage(text: str, pid: str = "p") -> Passage:
    return Passage(id=pid, doc_id="doc", title="T", section="S", text=text, score=1.0)


# ---------------------------------------------------------------------------- normalize


def test_normalize_keeps_only_ascii_letters_and_digits_lowercased():
    assert normalize("Don’t **Stop**\n| Q1 | 42% |") == "dontstopq142"


def test_normalize_makes_mojibake_curly_and_plain_quotes_equal():
    assert normalize("teachers’ “will” don’t") == normalize("teachersâ âwillâ donât")
    assert normalize("teachers’ “will” don’t") == normalize("teachers' \"will\" don't")


# ---------------------------------------------------------------------------- evidence_hit


def test_evidence_hit_needs_every_string_in_some_passage():
    passages = ["Dallas ISD chose  the\nschools with\tgreatest need.", "Pilot first, then scale."]
    assert evidence_hit(["schools with greatest need", "PILOT FIRST"], passages)
    assert not evidence_hit(["schools with greatest need", "fast and furious"], passages)


def test_evidence_split_across_two_passages_is_a_miss():
    assert not evidence_hit(["the end of one. The start"], ["the end of one.", "The start of two"])


def test_evidence_hit_ignores_table_and_markup_formatting():
    assert evidence_hit(["Prioritize Need 63%"], ["| *Prioritize* |\n| Need | 63 % |"])


def test_evidence_hit_refuses_empty_evidence():
    with pytest.raises(ValueError):
        evidence_hit([], ["anything"])


# ---------------------------------------------------------------------------- load_questions


def write_lines(tmp_path, *records) -> str:
    path = tmp_path / "set.jsonl"
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n",
        encoding="utf-8",
    )
    return str(path)


GOOD = {
    "id": "q1",
    "kind": "tension",
    "question": "Need or readiness?",
    "evidence": ["greatest need"],
    "systems": ["Dallas ISD"],
    "in_scope": True,
    "doc": "look-both-ways",
}


def test_load_questions_reads_all_fields_and_skips_blank_lines(tmp_path):
    follow = {
        "id": "q2",
        "kind": "follow-up",
        "question": "And the other side?",
        "history": [
            {"role": "user", "content": "Need?"},
            {"role": "assistant", "content": "Dallas chose need."},
        ],
    }
    oos = {"id": "q3", "kind": "out-of-scope", "question": "Weather?", "in_scope": False}
    questions = load_questions(write_lines(tmp_path, GOOD, "", follow, oos))
    assert [q.id for q in questions] == ["q1", "q2", "q3"]
    assert questions[0] == EvalQuestion(
        "q1",
        "tension",
        "Need or readiness?",
        (),
        ("greatest need",),
        ("Dallas ISD",),
        True,
        "look-both-ways",
    )
    assert questions[1].history == (Turn("user", "Need?"), Turn("assistant", "Dallas chose need."))
    assert questions[1].in_scope and not questions[2].in_scope and questions[2].evidence == ()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "kind": "fact",', "line 2"),
        ('["not", "an", "object"]', "JSON object"),
        (json.dumps({"id": "x", "kind": "fact"}), '"question"'),
        (json.dumps({**GOOD, "id": "x", "evidence": "a string"}), '"evidence" must be a list'),
        (json.dumps({**GOOD, "id": "x", "in_scope": "yes"}), '"in_scope"'),
        (
            json.dumps({**GOOD, "id": "x", "history": [{"role": "bot", "content": "hi"}]}),
            '"history"',
        ),
        (json.dumps({**GOOD, "id": "x", "evidence": ["“ — ”"]}), "no letters or digits"),
        (json.dumps(GOOD), 'duplicate id "q1"'),
    ],
)
def test_load_questions_names_the_bad_line(tmp_path, line, message):
    path = write_lines(tmp_path, GOOD, line)
    with pytest.raises(QuestionSetError, match="line 2") as info:
        load_questions(path)
    assert message in str(info.value)
    assert path in str(info.value)


def test_load_questions_missing_or_empty_file(tmp_path):
    with pytest.raises(QuestionSetError, match="Cannot read"):
        load_questions(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="no questions"):
        load_questions(tmp_path / "empty.jsonl")


# ---------------------------------------------------------------------------- systems


def test_systems_named_uses_aliases_on_word_boundaries():
    texts = [
        "In CPS, leaders chose...",
        "the grass roots movement grew",
        "Dallasâs plan, and Greeley",
    ]
    assert systems_named(
        [
            "Chicago Public Schools",
            "Roots Elementary",
            "Dallas ISD",
            "Greeley-Evans School District 6",
            "Oakland Unified School District",
        ],
        texts,
    ) == ["Chicago Public Schools", "Dallas ISD", "Greeley-Evans School District 6"]
    assert systems_named(["Alliance for Catholic Education"], ["a safe space to fail"]) == []
    assert systems_named(["Roots Elementary"], ["Roots, gave every student"]) == [
        "Roots Elementary"
    ]


def test_multi_word_names_ignore_case_and_unknown_systems_match_their_name():
    assert systems_named(["DC Public Schools"], ["dc public schools moved"]) == [
        "DC Public Schools"
    ]
    assert systems_named(["Springfield Academy"], ["At Springfield Academy"]) == [
        "Springfield Academy"
    ]


# ---------------------------------------------------------------------------- evaluate

QUESTIONS = [
    EvalQuestion(
        "t1",
        "tension",
        "need vs readiness",
        evidence=("greatest need",),
        systems=("Dallas ISD", "Oakland Unified School District"),
    ),
    EvalQuestion("t2", "tension", "fast or slow", evidence=("fast and furious", "slow and steady")),
    EvalQuestion(
        "f1",
        "follow-up",
        "and then?",
        history=(Turn("user", "Tell me about pace"),),
        evidence=("momentum",),
    ),
    EvalQuestion("o1", "out-of-scope", "what is the weather", in_scope=False),
]

CANNED = {
    "need vs readiness": ["Dallas ISD picked the schools with the GREATEST need.", "Other text"],
    "fast or slow": ["Fast and furious works when...", "but slow, yet steady"],
    "and then?": ["Momentum matters."],
    "what is the weather": ["nothing relevant"],
}


def test_evaluate_scores_overall_per_kind_and_district_recall():
    calls = []

    def retrieve(question, history, k):
        calls.append((question, tuple(history), k))
        return [passage(t, f"{question}-{i}") for i, t in enumerate(CANNED[question][:k])]

    result = evaluate(retrieve, QUESTIONS, k=5)
    assert calls[2] == ("and then?", (Turn("user", "Tell me about pace"),), 5)
    assert len(calls) == 4
    assert result["questions"] == 4 and result["scored"] == 3 and result["hits"] == 2
    assert result["hit_rate"] == pytest.approx(2 / 3)
    assert result["by_kind"] == {
        "tension": {"hits": 1, "n": 2, "hit_rate": 0.5},
        "follow-up": {"hits": 1, "n": 1, "hit_rate": 1.0},
    }
    assert "out-of-scope" not in result["by_kind"]
    assert result["misses"] == ["t2"]
    assert result["district"] == {
        "recall": 0.5,
        "found": 1,
        "required": 2,
        "missing": {"t1": ["Oakland Unified School District"]},
    }


def test_evaluate_respects_k():
    def retrieve(question, history, k):
        return [passage(t) for t in (["filler"] * k + CANNED[question])[:k]]

    assert evaluate(retrieve, QUESTIONS[:1], k=1)["hit_rate"] == 0.0


def answer(in_scope: bool, *texts: str) -> Answer:
    cites = [
        Citation(n=i + 1, id=f"c{i}", doc_id="d", title="T", section="S", text=t)
        for i, t in enumerate(texts)
    ]
    return Answer(question="q", answer="...", in_scope=in_scope, citations=cites)


def test_evaluate_answers_counts_scope_decisions_and_cited_evidence():
    questions = QUESTIONS + [EvalQuestion("o2", "out-of-scope", "stock prices?", in_scope=False)]
    replies = {
        "need vs readiness": answer(True, "Dallas ISD served the greatest need first."),
        "fast or slow": answer(False),
        "and then?": answer(True, "Momentum."),
        "what is the weather": answer(False),
        "stock prices?": answer(True, "Somerville did something."),
    }
    seen = []

    def ask(question, history):
        seen.append(tuple(history))
        return replies[question]

    result = evaluate_answers(ask, questions)
    assert seen[2] == (Turn("user", "Tell me about pace"),)
    assert result["out_of_scope"] == 2 and result["out_of_scope_declined"] == 1
    assert result["out_of_scope_rate"] == 0.5
    assert result["out_of_scope_answered_ids"] == ["o2"]
    assert result["in_scope"] == 3
    assert result["in_scope_refused"] == 1 and result["in_scope_refused_ids"] == ["t2"]
    assert (result["cited_hits"], result["cited_scored"]) == (2, 3)
    assert result["cited_misses"] == ["t2"]
    assert result["district"]["found"] == 1 and result["district"]["required"] == 2


# ---------------------------------------------------------------------------- stock recipe

LONG = " ".join(
    f"Paragraph {i} is about readiness and pilots in district number {i}." for i in range(60)
)
SHORT = "Prix fixe menus versus a la carte tools: comprehensive model or modular choices."


@pytest.fixture
def tiny_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "long.txt").write_text(LONG, encoding="utf-8")
    (corpus / "short.txt").write_text(SHORT + "\nLeave a Reply donât", encoding="utf-8")
    manifest = {
        "documents": [
            {"id": "long-doc", "title": "Long document", "file": "long.txt"},
            {"id": "short-doc", "title": "Short document", "file": "short.txt"},
        ]
    }
    (corpus / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return corpus


def test_stock_recipe_skips_files_textloader_cannot_read(tiny_corpus, hashing_embedder):
    (tiny_corpus / "scan.pdf").write_bytes(b"%PDF-1.4\n\xff\xfe\x00binary")
    manifest = json.loads((tiny_corpus / "manifest.json").read_text(encoding="utf-8"))
    manifest["documents"].append({"id": "scan", "title": "Scan", "file": "scan.pdf"})
    (tiny_corpus / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    stock = StockRecipe(tiny_corpus, hashing_embedder)
    try:
        assert stock.skipped == ["scan.pdf"]
        assert "scan" not in {p.doc_id for p in stock.retrieve("binary PDF", k=50)}
    finally:
        stock.close()


def test_stock_recipe_splits_raw_files_1000_200_and_retrieves_by_similarity(
    tiny_corpus, hashing_embedder
):
    stock = StockRecipe(tiny_corpus, hashing_embedder)
    try:
        long_chunks = -(-(len(LONG) - 200) // 800)  # 1000-character windows overlapping by 200
        assert stock.chunks >= long_chunks + 1
        assert stock.build_seconds > 0
        assert hashing_embedder.texts >= stock.chunks  # our embedder did the embedding

        hits = stock.retrieve("prix fixe or a la carte modular tools", k=2)
        assert len(hits) == 2
        assert hits[0].doc_id == "short-doc"
        assert hits[0].text.endswith("Leave a Reply donât")  # raw: boilerplate, mojibake kept
        assert hits[0].score >= hits[1].score
        assert all(len(p.text) <= 1000 for p in stock.retrieve("readiness pilots", k=8))
        # History is ignored: same result with or without it.
        with_history = stock.retrieve("prix fixe", history=[Turn("user", "readiness")], k=3)
        assert [p.id for p in with_history] == [p.id for p in stock.retrieve("prix fixe", k=3)]
    finally:
        stock.close()


def test_two_stock_recipes_in_one_process_do_not_share_a_collection(
    tmp_path, tiny_corpus, hashing_embedder
):
    other = tmp_path / "other"
    other.mkdir()
    (other / "one.txt").write_text("Somerville tells its own story.", encoding="utf-8")
    (other / "manifest.json").write_text(
        json.dumps({"documents": [{"id": "one", "title": "One", "file": "one.txt"}]}),
        encoding="utf-8",
    )
    first, second = StockRecipe(tiny_corpus, hashing_embedder), StockRecipe(other, hashing_embedder)
    try:
        assert first.collection_name != second.collection_name
        assert {p.doc_id for p in second.retrieve("readiness", k=8)} == {"one"}
        assert "one" not in {p.doc_id for p in first.retrieve("Somerville story", k=8)}
    finally:
        first.close()
        second.close()


# ---------------------------------------------------------------------------- run_eval / report


class FakeAssistant:
    """Retrieves a canned passage list per question and answers in scope unless told not to."""

    def retrieve(self, question, history=(), k=8, filters=None):
        return [passage(t) for t in CANNED[question]][:k]

    def ask(self, question, history=(), filters=None):
        return answer(question != "what is the weather", *CANNED[question])


def test_run_eval_compares_ours_with_stock_and_formats_a_table(
    tmp_path, tiny_corpus, hashing_embedder, monkeypatch
):
    fake_service = types.ModuleType("assistant.service")
    fake_service.load_assistant = lambda settings, embedder=None: FakeAssistant()
    monkeypatch.setitem(sys.modules, "assistant.service", fake_service)
    lines = [
        {
            "id": q.id,
            "kind": q.kind,
            "question": q.question,
            "evidence": list(q.evidence),
            "systems": list(q.systems),
            "in_scope": q.in_scope,
            "history": [{"role": t.role, "content": t.content} for t in q.history],
        }
        for q in QUESTIONS
    ]
    path = write_lines(tmp_path, *lines)
    from assistant.core.settings import Settings

    report = run_eval(Settings(corpus_dir=tiny_corpus), path, k=4, embedder=hashing_embedder)
    assert report["ours"]["hit_rate"] == pytest.approx(2 / 3)
    assert report["answers"]["out_of_scope_declined"] == 1
    assert report["stock"]["chunks"] > 1 and report["stock"]["hit_rate"] is not None
    json.dumps(report)  # the report is JSON-ready

    text = format_report(report)
    assert "overall" in text and "tension" in text and "follow-up" in text
    assert "0.667" in text and "FAIL" in text
    assert "out of scope declined: 1/1" in text
    assert "retrieval misses (ours): t2" in text


def test_format_report_marks_pass_when_targets_are_met():
    perfect = {"hits": 1, "n": 1, "hit_rate": 1.0}
    district = {"recall": 1.0, "found": 1, "required": 1, "missing": {}}
    ours = {
        "k": 8,
        "questions": 1,
        "scored": 1,
        "hits": 1,
        "hit_rate": 1.0,
        "by_kind": {"fact": perfect},
        "misses": [],
        "district": district,
    }
    answers = {
        "questions": 1,
        "out_of_scope": 0,
        "out_of_scope_declined": 0,
        "out_of_scope_rate": None,
        "in_scope": 1,
        "in_scope_refused": 0,
        "in_scope_refused_ids": [],
        "cited_hits": 1,
        "cited_scored": 1,
        "cited_hit_rate": 1.0,
        "cited_misses": [],
        "district": district,
    }
    text = format_report(
        {
            "questions_path": "x",
            "questions": 1,
            "k": 8,
            "ours": ours,
            "answers": answers,
            "stock": None,
        }
    )
    assert "PASS" in text and "FAIL" not in text


def test_hashing_embedder_is_a_deterministic_unit_embedder(hashing_embedder):
    vectors = hashing_embedder.embed_batch(["need and readiness", "need and readiness", ""])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors[0], vectors[1])


# ---------------------------------------------------------------------------- evidence checker

ROOT = Path(__file__).resolve().parents[1]
QUESTION_FILES = sorted((ROOT / "eval" / "blind").glob("W*.jsonl")) + [
    ROOT / "eval" / "devset.jsonl",
    ROOT / "eval" / "heldout.jsonl",
]


def test_every_question_file_passes_the_evidence_checker(capsys):
    assert len(QUESTION_FILES) == 8
    assert check_evidence.main(["--corpus", str(ROOT / "corpus"), *map(str, QUESTION_FILES)]) == 0
    assert "every evidence span checks out" in capsys.readouterr().out


UNIQUE = "Prix fixe menus versus a la carte tools"  # once, in short.txt


def blind_record(qid="W9-001", **fields):
    record = {
        "id": qid,
        "writer": "W9",
        "question": "Whole model or pick tools?",
        "kind": "situation",
        "scope": "answered",
        "doc": "short-doc",
        "evidence": [UNIQUE],
        "systems": [],
        "key_points": ["whole model vs tools"],
        "missing": "",
        "style": ["plain"],
    }
    return {**record, **fields}


def test_evidence_checker_passes_a_good_span(tmp_path, tiny_corpus):
    path = write_lines(
        tmp_path,
        blind_record(),
        blind_record("W9-002", scope="not_in_library", kind="off-library", doc=None, evidence=[]),
        {**GOOD, "evidence": [UNIQUE], "doc": "short-doc"},  # the old format too
    )
    assert check_evidence.check_files([path], tiny_corpus) == []
    assert check_evidence.main(["--corpus", str(tiny_corpus), path]) == 0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (blind_record(evidence=["Prix fixe menus versus a la carte meals"]), "not found verbatim"),
        (  # in the library, but in another document than the one named
            blind_record(doc="long-doc"),
            'not found verbatim in "long-doc"',
        ),
        (  # a span the long document repeats sixty times
            blind_record(doc="long-doc", evidence=["is about readiness and pilots in district"]),
            "occurs 60 times",
        ),
        (blind_record(evidence=["Prix fixe menus"]), "15 characters, not 30 to 200"),
        (blind_record(evidence=[]), "needs 1 to 3 evidence spans"),
        (blind_record(doc="nope"), "not a text document"),
        (blind_record(scope="not_in_library", doc=None), "off-library question has 1 evidence"),
        ({**GOOD, "in_scope": False, "evidence": [], "doc": "short-doc"}, "names a doc"),
    ],
)
def test_evidence_checker_names_file_line_and_problem(tmp_path, tiny_corpus, record, message):
    path = write_lines(tmp_path, blind_record("W9-000"), record)
    messages = check_evidence.check_files([path], tiny_corpus)
    assert len(messages) == 1
    assert messages[0].startswith(f"{path}:2:") and message in messages[0]


def test_evidence_checker_counts_a_span_found_in_two_documents(tmp_path, tiny_corpus):
    (tiny_corpus / "long.txt").write_text(LONG + "\n" + UNIQUE, encoding="utf-8")
    messages = check_evidence.check_files([write_lines(tmp_path, blind_record())], tiny_corpus)
    assert messages and "occurs 2 times in the library (long-doc x1, short-doc x1)" in messages[0]


def test_evidence_checker_flags_duplicate_ids_and_exits_non_zero(tmp_path, tiny_corpus, capsys):
    path = write_lines(tmp_path, blind_record(), blind_record())
    assert check_evidence.main(["--corpus", str(tiny_corpus), path]) == 1
    err = capsys.readouterr().err
    assert f'{path}:2: id "W9-001" already used on line 1' in err
