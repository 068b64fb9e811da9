"""Evaluation: matching, question-set parsing, scoring with canned retrievers, the stock recipe."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from assistant.core.types import Answer, Citation, Passage, Turn
from eval import check_evidence, tally
from eval.pairs import (
    GRADING_BASELINE,
    MORE_HEAD,
    PERMUTATIONS,
    SOURCES_HEAD,
    BaselineError,
    answer_of_result,
    batch_lines,
    composed_candidate,
    load_baseline,
    match_baseline,
    read_baseline,
    three_way_order,
    write_pairs,
)
from eval.questions import load_set, named_sets, spent_ids
from eval.report import format_report, format_sets
from eval.scoring import (
    EvalQuestion,
    MissingExtra,
    QuestionSetError,
    StockRecipe,
    answer_scope,
    evaluate,
    evaluate_answers,
    evidence_hit,
    load_questions,
    normalize,
    run_eval,
    run_sets,
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
    with pytest.raises(QuestionSetError, match="Question set not found"):
        load_questions(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="no questions"):
        load_questions(tmp_path / "empty.jsonl")


BLIND = {
    "id": "W9-001",
    "writer": "W9",
    "persona": "rural superintendent",
    "question": "ok so what did henry county do w/ its budget?",
    "history": [
        {"role": "user", "content": "Who grew in stages?"},
        {"role": "assistant", "content": "Henry County moved school by school."},
    ],
    "kind": "partial",
    "scope": "partial",
    "doc": "roadmap-for-change",
    "evidence": ["six areas of change"],
    "systems": ["Henry County Public Schools", "Greeley-Evans School District", "NYC"],
    "key_points": ["no budget figures", "phased roll-out"],
    "missing": "The library gives no budget figures.",
    "style": ["misspelled", "short"],
}


def test_load_questions_reads_the_blind_format(tmp_path):
    off = {
        **BLIND,
        "id": "W9-002",
        "kind": "off-library",
        "scope": "not_in_library",
        "doc": None,
        "evidence": [],
        "systems": [],
        "history": [],
        "missing": "",
    }
    paper = {**BLIND, "id": "W9-003", "kind": "situation", "scope": "answered"}
    paper["doc"] = "look-both-ways"
    partial, off_library, answered = load_questions(write_lines(tmp_path, BLIND, off, paper))
    assert partial == EvalQuestion(
        id="W9-001",
        kind="partial",
        question="ok so what did henry county do w/ its budget?",
        history=(
            Turn("user", "Who grew in stages?"),
            Turn("assistant", "Henry County moved school by school."),
        ),
        evidence=("six areas of change",),
        # a writer's name maps onto the one system its aliases identify; others stay as written
        systems=("Henry County Schools", "Greeley-Evans School District 6", "NYC"),
        in_scope=True,
        doc="roadmap-for-change",
        scope="partial",
        writer="W9",
        key_points=("no budget figures", "phased roll-out"),
        missing="The library gives no budget figures.",
        style=("misspelled", "short"),
    )
    assert partial.doc_group == "short-docs"
    assert (off_library.scope, off_library.in_scope, off_library.doc_group) == (
        "not_in_library",
        False,
        None,
    )
    assert (answered.scope, answered.in_scope, answered.doc_group) == (
        "answered",
        True,
        "white-paper",
    )


def test_old_format_scope_follows_in_scope():
    assert EvalQuestion("a", "fact", "q?").scope == "answered"
    assert EvalQuestion("b", "out-of-scope", "q?", in_scope=False).scope == "not_in_library"
    assert EvalQuestion("c", "fact", "q?", doc="look-both-ways").doc_group == "white-paper"
    assert EvalQuestion("d", "fact", "q?", doc="scale-what").writer is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**BLIND, "scope": "maybe"}, '"scope" must be one of'),
        ({**BLIND, "scope": "not_in_library", "in_scope": True}, "contradicts"),
        ({**BLIND, "key_points": "one"}, '"key_points" must be a list'),
        ({**BLIND, "missing": ["x"]}, '"missing" must be a string'),
        ({**BLIND, "writer": 9}, '"writer" must be a string'),
    ],
)
def test_load_questions_names_bad_blind_fields(tmp_path, record, message):
    with pytest.raises(QuestionSetError, match="line 1") as info:
        load_questions(write_lines(tmp_path, record))
    assert message in str(info.value)


def test_named_sets_split_by_writer_and_every_file_loads():
    sets = named_sets()
    assert list(sets) == ["tune", "test", "dev", "heldout"]
    assert [p.name for p in sets["tune"]] == ["W1.jsonl", "W2.jsonl", "spent.jsonl"]
    assert [p.name for p in sets["test"]] == [f"W{n}.jsonl" for n in range(3, 9)]
    assert named_sets("test") == {"test": sets["test"]}
    tune, test = load_set(sets["tune"]), load_set(sets["test"])
    spent = spent_ids()
    # a spent test question is in tune, once, and out of test
    assert spent and spent <= {q.id for q in tune} and not spent & {q.id for q in test}
    assert (len(tune), len(test)) == (92 + len(spent), 276 - len(spent))
    assert {q.writer for q in tune} == {"W1", "W2", *(i.split("-")[0] for i in spent)}
    assert {q.scope for q in test} == {"answered", "partial", "not_in_library"}
    with pytest.raises(QuestionSetError, match="Unknown split"):
        named_sets("dev")


def test_load_set_refuses_an_id_used_in_two_files(tmp_path):
    first = write_lines(tmp_path, BLIND)
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(BLIND) + "\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match='id "W9-001" is also used'):
        load_set([first, other])


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


class ScopedAnswer(Answer):
    """An Answer that reports its scope, as the main branch's Answer.to_dict() does."""

    def __init__(self, scope: str, *texts: str):
        super().__init__(**vars(answer(scope != "not_in_library", *texts)))
        self.scope = scope

    def to_dict(self):
        return {**super().to_dict(), "scope": self.scope}


def test_answer_scope_comes_from_the_scope_field_else_from_in_scope():
    assert answer_scope(answer(True)) == "answered"
    assert answer_scope(answer(False)) == "not_in_library"
    assert answer_scope(ScopedAnswer("partial")) == "partial"
    assert answer_scope(ScopedAnswer("not_in_library")) == "not_in_library"


# A tiny set whose every figure is known by construction: two answered questions (one in the
# white paper, one in a short document), two partial ones (one of each), two off-library.
TINY = [
    EvalQuestion(
        "a1",
        "situation",
        "need first?",
        evidence=("greatest need", "readiness first"),
        systems=("Dallas ISD",),
        doc="look-both-ways",
        scope="answered",
    ),
    EvalQuestion(
        "a2",
        "fact",
        "what is seed spread scale?",
        evidence=("seed spread scale", "not ready"),
        doc="scale-what",
        scope="answered",
    ),
    EvalQuestion(
        "p1",
        "partial",
        "cost of the six areas?",
        evidence=("six areas of change",),
        doc="roadmap-for-change",
        scope="partial",
    ),
    EvalQuestion(
        "p2",
        "partial",
        "rank the survey answers?",
        evidence=("survey median",),
        doc="look-both-ways",
        scope="partial",
    ),
    EvalQuestion("o1", "off-library", "bus routes?", in_scope=False),
    EvalQuestion("o2", "off-library", "Texas law?", scope="not_in_library", in_scope=False),
]
TINY_RETRIEVED = {  # a1 and p1 have all their evidence; a2 half of it; p2 none
    "need first?": ["Dallas ISD chose the greatest need.", "Others put readiness first."],
    "what is seed spread scale?": ["Seed, spread, scale: the plan."],
    "cost of the six areas?": ["There are six areas of change."],
    "rank the survey answers?": ["Nothing to see."],
    "bus routes?": ["Buses."],
    "Texas law?": ["Law."],
}
TINY_ANSWERS = {
    # answered, names Dallas, cites one of its two evidence strings
    "need first?": ScopedAnswer("answered", "Dallas ISD served the greatest need."),
    # an in-library question refused
    "what is seed spread scale?": ScopedAnswer("not_in_library"),
    # partial, labelled partial, cites its evidence
    "cost of the six areas?": ScopedAnswer("partial", "The six areas of change are..."),
    # partial, but an Answer without a scope field: in_scope True reads as "answered"
    "rank the survey answers?": answer(True, "Something else."),
    # off-library: declined (plain Answer), and answered anyway (labelled partial)
    "bus routes?": answer(False),
    "Texas law?": ScopedAnswer("partial", "Somerville did something."),
}


def test_evaluate_hit_rate_per_doc_group():
    def retrieve(question, history, k):
        return [passage(t) for t in TINY_RETRIEVED[question]]

    result = evaluate(retrieve, TINY)
    assert (result["hits"], result["scored"], result["misses"]) == (2, 4, ["a2", "p2"])
    assert result["by_doc_group"] == {
        "white-paper": {"hits": 1, "n": 2, "hit_rate": 0.5},
        "short-docs": {"hits": 1, "n": 2, "hit_rate": 0.5},
    }
    assert list(result["by_kind"]) == ["situation", "fact", "partial"]
    assert result["by_kind"]["partial"] == {"hits": 1, "n": 2, "hit_rate": 0.5}
    assert result["district"]["recall"] == 1.0


def test_evaluate_answers_scope_metrics_on_a_set_known_by_construction():
    result = evaluate_answers(lambda question, history: TINY_ANSWERS[question], TINY)
    # in-library questions refused: a2 of a1, a2, p1, p2
    assert (result["in_scope"], result["in_scope_refused"]) == (4, 1)
    assert result["in_scope_refused_rate"] == 0.25 and result["in_scope_refused_ids"] == ["a2"]
    # off-library declined: o1 of o1, o2 (o2 was labelled partial: answered anyway)
    assert (result["out_of_scope"], result["out_of_scope_declined"]) == (2, 1)
    assert result["out_of_scope_rate"] == 0.5 and result["out_of_scope_answered_ids"] == ["o2"]
    # partial labelled partial: p1 of p1, p2
    assert (result["partial"], result["partial_labelled"], result["partial_rate"]) == (2, 1, 0.5)
    assert result["partial_given"] == {"partial": 1, "answered": 1}
    # evidence cited: some evidence string in a citation for a1 and p1; all of it for p1 only
    assert (result["cited_any_hits"], result["cited_hits"], result["cited_scored"]) == (2, 1, 4)
    assert (result["cited_any_rate"], result["cited_hit_rate"]) == (0.5, 0.25)
    assert result["cited_misses"] == ["a1", "a2", "p2"]
    assert result["scopes"] == {
        "answered": {"answered": 1, "partial": 0, "not_in_library": 1},
        "partial": {"answered": 1, "partial": 1, "not_in_library": 0},
        "not_in_library": {"answered": 0, "partial": 1, "not_in_library": 1},
    }
    assert result["district"] == {"recall": 1.0, "found": 1, "required": 1, "missing": {}}


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


def record_of(q: EvalQuestion) -> dict:
    """A question as a blind-format line."""
    return {
        "id": q.id,
        "writer": "W9",
        "kind": q.kind,
        "question": q.question,
        "history": [{"role": t.role, "content": t.content} for t in q.history],
        "scope": q.scope,
        "doc": q.doc,
        "evidence": list(q.evidence),
        "systems": list(q.systems),
        "key_points": [f"point of {q.id}"],
        "missing": "no cost figures" if q.scope == "partial" else "",
        "style": ["plain"],
    }


class TinyAssistant:
    """Answers TINY from canned passages and answers, counting every call."""

    def __init__(self):
        self.loads = 0
        self.retrieved: list[tuple[str, int]] = []
        self.asked: list[str] = []

    def retrieve(self, question, history=(), k=8, filters=None):
        self.retrieved.append((question, k))
        texts = TINY_RETRIEVED[question] + [f"filler {i}" for i in range(8)]
        return [passage(text, f"{question}-{i}") for i, text in enumerate(texts[:k])]

    def ask(self, question, history=(), filters=None):
        self.asked.append(question)
        return TINY_ANSWERS[question]


@pytest.fixture
def tiny_bot(monkeypatch, hashing_embedder):
    """The service and the default embedder replaced: no model, no index."""
    bot = TinyAssistant()

    def load_assistant(settings, embedder=None):
        assert embedder is hashing_embedder  # the run's one embedder reaches the service
        bot.loads += 1
        return bot

    fake_service = types.ModuleType("assistant.service")
    fake_service.load_assistant = load_assistant
    monkeypatch.setitem(sys.modules, "assistant.service", fake_service)
    monkeypatch.setattr(
        "assistant.embedding.embedder.load_default_embedder",
        lambda path=None, workers=0: hashing_embedder,
    )
    return bot


@pytest.fixture
def tiny_splits(tmp_path):
    """TINY as two blind files: tune holds what goes right, test what goes wrong."""
    by_id = {q.id: record_of(q) for q in TINY}
    tune, test = tmp_path / "tune.jsonl", tmp_path / "test.jsonl"
    tune.write_text("".join(json.dumps(by_id[i]) + "\n" for i in ("a1", "p1", "o1")))
    test.write_text("".join(json.dumps(by_id[i]) + "\n" for i in ("a2", "p2", "o2")))
    return {"tune": [tune], "test": [test]}


def test_run_sets_scores_every_set_in_one_process_and_reports_the_gap(
    tmp_path, tiny_bot, tiny_splits, tiny_corpus
):
    from assistant.core.settings import Settings

    result = run_sets(Settings(corpus_dir=tiny_corpus), tiny_splits, pairs_dir=tmp_path / "pairs")
    assert tiny_bot.loads == 1  # model and index loaded once for every set
    # each question retrieved and answered once, although the pairs need both again
    assert sorted(tiny_bot.asked) == sorted(q.question for q in TINY)
    assert sorted(tiny_bot.retrieved) == sorted((q.question, 8) for q in TINY)
    tune, test = result["sets"]["tune"], result["sets"]["test"]
    assert (tune["ours"]["hit_rate"], test["ours"]["hit_rate"]) == (1.0, 0.0)
    assert tune["stock"]["chunks"] > 0 and test["stock"]["hit_rate"] is not None
    assert tune["answers"]["in_scope_refused_rate"] == 0.0
    assert test["answers"]["in_scope_refused_rate"] == 0.5
    gap = result["gap"]
    assert gap["evidence in top k (ours)"] == {"tune": 1.0, "test": 0.0, "gap": 1.0}
    assert gap["in-library refused"]["gap"] == -0.5
    assert gap["off-library declined"]["gap"] == 1.0
    assert gap["partial labelled partial"]["gap"] == 1.0
    assert result["pairs"]["count"] == 6
    json.dumps(result)  # the --json document

    text = format_sets(result)
    assert ["tune", "test"] in [line.split() for line in text.splitlines()]  # the columns
    assert "tune - test gap: evidence in top k (ours) +1.000" in text
    assert "in-library refused -0.500" in text
    assert re.search(r"^evidence in top 8 +1\.000 \(2\) +\S+ +0\.000 \(2\)", text, re.M)
    assert re.search(r"^  doc: short-docs", text, re.M)
    assert re.search(r"^in-library refused +0/2 +1/2", text, re.M)
    assert "tune retrieval misses" not in text  # tune has none...
    assert "a2" not in text and "p2" not in text and "o2" not in text  # ...test ids stay unread
    assert "ids are listed for tune only" in text


def test_a_single_split_has_no_gap_and_no_stock_columns(tiny_bot, tiny_splits, tiny_corpus):
    from assistant.core.settings import Settings

    result = run_sets(
        Settings(corpus_dir=tiny_corpus), {"tune": tiny_splits["tune"]}, include_stock=False
    )
    assert result["gap"] is None and result["sets"]["tune"]["stock"] is None
    text = format_sets(result)
    table = text.split("\n\n", 1)[1]  # below the list of files (tmp_path holds "gap")
    assert "stock" not in table and "gap" not in table
    assert re.search(r"^in-library refused +0/2$", text, re.M)


def test_lbw_eval_runs_all_sets_one_split_or_one_file(
    tiny_bot, tiny_splits, tiny_corpus, tmp_path, monkeypatch, capsys
):
    from assistant import cli

    asked = []
    monkeypatch.setattr(
        "eval.questions.named_sets", lambda split=None: asked.append(split) or tiny_splits
    )
    corpus = ["--corpus", str(tiny_corpus)]
    assert cli.main(["eval", "--no-stock", "--json", *corpus]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert asked == [None] and list(doc["sets"]) == ["tune", "test"] and doc["gap"]

    assert cli.main(["eval", "--split", "tune", *corpus]) == 0
    out = capsys.readouterr().out
    assert asked[-1] == "tune" and "stock" in out and "evidence in top 8" in out

    one = write_lines(tmp_path, *(record_of(q) for q in TINY))
    assert cli.main(["eval", "--questions", one, "--no-stock", *corpus]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Question set: {one} (6 questions, 4 with evidence)")
    assert "partial labelled partial: 1/2 (0.500)" in out and "doc: white-paper" in out


def test_stock_recipe_names_the_extra_when_langchain_is_missing(
    tiny_corpus, hashing_embedder, monkeypatch
):
    monkeypatch.setitem(sys.modules, "langchain_chroma", None)  # import fails
    with pytest.raises(MissingExtra, match=r"`eval` extra .*--no-stock"):
        StockRecipe(tiny_corpus, hashing_embedder)


# ---------------------------------------------------------------------------- grading pairs


def pair_answer(question: str) -> Answer:
    cite = Citation(n=1, id="c", doc_id="d", title="Paper", section="Pace", text=f"On {question}")
    return Answer(
        question=question, answer=f"Answer to {question} [1]", in_scope=True, citations=[cite]
    )


def test_a_candidate_shows_only_the_passages_its_answer_cites():
    """Passages that only "More from the library" cites are not listed as the answer's; More
    follows, labelled as the collapsed section the app shows (none under a refusal)."""
    cites = [
        Citation(n=n, id=f"c{n}", doc_id="d", title="Paper", section=s, text=f"Text {n}")
        for n, s in ((1, "Pace"), (2, "Need"))
    ]
    answer = Answer("q", "Shown [1]", True, cites, more="More on need [2]")
    shown = composed_candidate(answer)
    assert [p["n"] for p in shown["passages"]] == [1]
    assert shown["text"] == (
        f"Shown [1]\n\n{SOURCES_HEAD}\n\n▸ [1] Paper — Pace\nText 1\n\n{MORE_HEAD}\n\nMore on need [2]"
    )
    refusal = Answer("q", "Not in the library.", False, [], more="Nearest [1]")
    assert composed_candidate(refusal)["text"] == "Not in the library."


def test_write_pairs_shuffles_labels_and_the_key_says_which_is_which(tmp_path):
    questions = [
        EvalQuestion(
            f"q{i}",
            "situation",
            f"question {i}",
            history=(Turn("user", "earlier"), Turn("assistant", "reply")) if i == 0 else (),
            evidence=("hidden evidence text",),
            key_points=(f"point {i}",),
        )
        for i in range(12)
    ]

    def retrieve(question, history):
        return [
            Passage(
                id=f"p{j}",
                doc_id="d",
                title="Paper",
                section=f"Section {j}",
                text=f"Verbatim {j} of {question}  with  spaces",
                score=1.0,
            )
            for j in range(3)
        ]

    summary = write_pairs(
        tmp_path / "out",
        {"tune": questions},
        ask=lambda q, h: pair_answer(q),
        retrieve=retrieve,
        seed=7,
    )
    assert summary["count"] == 12
    records = [json.loads(line) for line in (tmp_path / "out" / "pairs.jsonl").open()]
    keys = [json.loads(line) for line in (tmp_path / "out" / "key.jsonl").open()]
    assert [r["id"] for r in records] == [k["id"] for k in keys] == [q.id for q in questions]
    orders = {k["A"] for k in keys}
    assert orders == {"composed", "retrieved"}  # shuffled: both orders occur
    for record, key in zip(records, keys, strict=True):
        assert {key["A"], key["B"]} == {"composed", "retrieved"} and key["seed"] == 7
        assert set(record) == {
            "set",
            "id",
            "question",
            "history",
            "key_points",
            "scope",
            "missing",
            "candidates",
        }  # no evidence, kind or writer
        composed = record["candidates"]["A" if key["A"] == "composed" else "B"]
        retrieved = record["candidates"]["A" if key["A"] == "retrieved" else "B"]
        q = record["question"]
        assert (
            composed["text"] == f"Answer to {q} [1]\n\n{SOURCES_HEAD}\n\n▸ [1] Paper — Pace\nOn {q}"
        )
        assert [p["heading"] for p in retrieved["passages"]] == [
            "Paper — Section 0",
            "Paper — Section 1",
            "Paper — Section 2",
        ]
        assert f"1. Paper — Section 0\nVerbatim 0 of {q}  with  spaces\n\n2." in retrieved["text"]
    assert records[0]["history"] == [
        {"role": "user", "content": "earlier"},
        {"role": "assistant", "content": "reply"},
    ]
    assert records[3]["key_points"] == ["point 3"] and records[3]["scope"] == "answered"
    assert "hidden evidence text" not in (tmp_path / "out" / "pairs.jsonl").read_text()
    rubric = (tmp_path / "out" / "GRADING.md").read_text()
    assert "Do not open `key.jsonl`" in rubric
    # A two-candidate kit names what eval.tally reads: each criterion, the order, the format.
    assert all(f"`{c}`" in rubric for c in ("addresses", "evidence", "useful", "citations"))
    assert "`order`" in rubric and '"grades": {"A": {"addresses"' in rubric

    # The same seed gives the same labels; another seed another draw.
    write_pairs(
        tmp_path / "again",
        {"tune": questions},
        ask=lambda q, h: pair_answer(q),
        retrieve=retrieve,
        seed=7,
    )
    assert (tmp_path / "again" / "key.jsonl").read_text() == (
        tmp_path / "out" / "key.jsonl"
    ).read_text()
    other = write_pairs(
        tmp_path / "other",
        {"tune": questions},
        ask=lambda q, h: pair_answer(q),
        retrieve=retrieve,
        seed=8,
    )
    assert Path(other["key_file"]).read_text() != (tmp_path / "out" / "key.jsonl").read_text()


def test_pairs_from_a_run_show_the_top_three_passages(tmp_path, tiny_bot, tiny_splits, tiny_corpus):
    from assistant.core.settings import Settings

    run_sets(
        Settings(corpus_dir=tiny_corpus),
        tiny_splits,
        include_stock=False,
        pairs_dir=tmp_path / "pairs",
        seed=3,
    )
    records = [json.loads(line) for line in (tmp_path / "pairs" / "pairs.jsonl").open()]
    keys = {k["id"]: k for k in map(json.loads, (tmp_path / "pairs" / "key.jsonl").open())}
    assert [r["set"] for r in records] == ["tune"] * 3 + ["test"] * 3
    for record in records:
        label = "A" if keys[record["id"]]["A"] == "retrieved" else "B"
        shown = [p["text"] for p in record["candidates"][label]["passages"]]
        assert (
            shown == (TINY_RETRIEVED[record["question"]] + ["filler 0", "filler 1", "filler 2"])[:3]
        )
    assert records[1]["missing"] == "no cost figures" and records[1]["scope"] == "partial"


def test_three_way_order_is_seeded_and_covers_all_six_orders():
    ids = [f"q{i}" for i in range(60)]
    orders = [three_way_order(7, "test", i) for i in ids]
    assert set(orders) == set(PERMUTATIONS) and len(PERMUTATIONS) == 6
    assert orders == [three_way_order(7, "test", i) for i in ids]  # same seed, same labels
    assert orders != [three_way_order(8, "test", i) for i in ids]
    assert orders != [three_way_order(7, "tune", i) for i in ids]  # drawn per set too


def baseline_result(question: str, **fields) -> dict:
    """One result of `lbw ask --batch --json` as the current version writes it."""
    cite = {
        "n": 1,
        "id": "c",
        "doc_id": "d",
        "title": "Paper",
        "section": "Pace",
        "text": f"Old on {question}",
        "pages": None,
    }
    return {
        "question": question,
        "answer": f"Old answer to {question} [1]",
        "in_scope": True,
        "scope": "answered",
        "citations": [cite],
        "answered_by": "offline",
        "ms": 12.5,
        **fields,
    }


def test_baseline_results_match_questions_by_text_and_history(tmp_path):
    follow = (Turn("user", "Need?"), Turn("assistant", "Dallas chose need."))
    sets = {
        "tune": [
            EvalQuestion("t1", "situation", "Need  or readiness?"),
            EvalQuestion("t2", "follow-up", "And then?", history=follow),
            EvalQuestion("t3", "follow-up", "And then?", history=(Turn("user", "Pace?"),)),
        ],
        "test": [EvalQuestion("s1", "situation", "Off topic?"), EvalQuestion("s2", "x", "Gone?")],
    }
    results = [
        baseline_result("Need or readiness?"),  # whitespace differs: still the same question
        baseline_result("And then?", answer="first [1]"),  # no history: n-th takes n-th
        baseline_result("And then?", answer="second [1]"),
        baseline_result("Off topic?", history=[{"role": "user", "content": "x"}]),  # other talk
        baseline_result("Gone?", error="the store stopped"),
    ]
    doc = tmp_path / "baseline.json"
    doc.write_text(json.dumps({"results": results}), encoding="utf-8")
    lines = tmp_path / "baseline.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n\n" for r in results), encoding="utf-8")
    assert load_baseline(doc) == load_baseline(lines) == results

    matched, missing, errors = match_baseline(sets, results, "baseline.json")
    assert [matched[("tune", i)].answer for i in ("t2", "t3")] == ["first [1]", "second [1]"]
    assert matched[("tune", "t1")].citations[0].text == "Old on Need or readiness?"
    assert missing == [("test", "s1"), ("test", "s2")] and errors == 1
    # a result that carries a history matches only that history
    with_history = [
        baseline_result("And then?", answer="h", history=[{"role": "user", "content": "Pace?"}])
    ]
    matched, _, _ = match_baseline(sets, with_history, "b")
    assert list(matched) == [("tune", "t3")] and matched[("tune", "t3")].answer == "h"

    with pytest.raises(
        BaselineError,
        match=r"^2 of 5 questions have no result .* \(1 of its results are errors\): test/s1, test/s2\. .*--allow-missing-baseline",
    ):
        read_baseline(doc, sets)
    allowed = read_baseline(doc, sets, allow_missing=True)
    assert len(allowed["answers"]) == 3 and allowed["missing"] == missing

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(results[0]) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(BaselineError, match="Line 2 of the baseline file"):
        load_baseline(bad)


def test_write_pairs_with_a_baseline_shows_three_candidates_rendered_alike(tmp_path):
    questions = [EvalQuestion(f"q{i}", "situation", f"question {i}") for i in range(30)]
    baseline = {
        ("tune", q.id): Answer(
            q.question,
            f"Old answer to {q.question} [1]",
            True,
            [Citation(1, "c", "d", "Paper", "Pace", f"Old on {q.question}")],
        )
        for q in questions[1:]  # q0 has none (--allow-missing-baseline): two candidates
    }
    write_pairs(
        tmp_path / "out",
        {"tune": questions},
        ask=lambda q, h: pair_answer(q),
        retrieve=lambda q, h: [passage(f"passage on {q}")],
        seed=4,
        baseline=baseline,
    )
    records = [json.loads(line) for line in (tmp_path / "out" / "pairs.jsonl").open()]
    keys = [json.loads(line) for line in (tmp_path / "out" / "key.jsonl").open()]
    assert set(records[0]["candidates"]) == {"A", "B"}
    assert {keys[0]["A"], keys[0]["B"]} == {"composed", "retrieved"} and "C" not in keys[0]
    assert {tuple(k[label] for label in "ABC") for k in keys[1:]} == set(PERMUTATIONS)
    for record, key in zip(records[1:], keys[1:], strict=True):
        assert list(key) == ["set", "id", "A", "B", "C", "seed"] and key["seed"] == 4
        label = {source: label for label, source in key.items() if label in "ABC"}
        q = record["question"]
        old = record["candidates"][label["baseline"]]
        assert old == composed_candidate(baseline[("tune", record["id"])])
        assert (
            old["text"]
            == f"Old answer to {q} [1]\n\n{SOURCES_HEAD}\n\n▸ [1] Paper — Pace\nOld on {q}"
        )
        assert record["candidates"][label["composed"]]["text"].startswith(f"Answer to {q} [1]")
        assert record["candidates"][label["retrieved"]]["text"] == f"1. T — S\npassage on {q}"
    rubric = (tmp_path / "out" / "GRADING.md").read_text()
    assert rubric == GRADING_BASELINE and '"order": "C>A>B"' in rubric


def test_a_baseline_read_back_from_json_is_shown_as_the_same_answer_was():
    """A baseline comes from `lbw ask --batch --json`; read back, it must render as the
    answer itself did, "More from the library" included (it once lost More, so graders
    compared an answer with More against the same answer without it)."""
    answer = Answer(
        "How did Fulton choose?",
        "Fulton assessed readiness [1].",
        True,
        [Citation(1, "c", "d", "Paper", "Pace", "Fulton assessed readiness.")],
        more="*Paper — Pace*\n> More text [2]",
    )
    result = {"question": answer.question, **answer.to_dict()}
    back = answer_of_result(json.loads(json.dumps(result)), "result 1")
    assert composed_candidate(back) == composed_candidate(answer)
    assert MORE_HEAD in composed_candidate(back)["text"]


def test_eval_with_a_baseline_writes_three_candidates_or_refuses_before_loading(
    tmp_path, tiny_bot, tiny_splits, tiny_corpus, capsys, monkeypatch
):
    from assistant import cli
    from assistant.core.settings import Settings

    monkeypatch.setattr("eval.questions.named_sets", lambda split=None: tiny_splits)

    sets = {name: load_set(paths) for name, paths in tiny_splits.items()}
    batch = [json.loads(line) for line in batch_lines(sets)]
    assert [b["question"] for b in batch] == [q.question for qs in sets.values() for q in qs]
    baseline = tmp_path / "old.json"
    baseline.write_text(json.dumps({"results": [baseline_result(b["question"]) for b in batch]}))
    result = run_sets(
        Settings(corpus_dir=tiny_corpus),
        tiny_splits,
        include_stock=False,
        pairs_dir=tmp_path / "kit",
        baseline=baseline,
    )
    assert result["pairs"]["baseline"] == {
        "file": str(baseline),
        "matched": 6,
        "missing": [],
        "errors": 0,
    }
    keys = [json.loads(line) for line in (tmp_path / "kit" / "key.jsonl").open()]
    assert all(sorted(k[x] for x in "ABC") == ["baseline", "composed", "retrieved"] for k in keys)

    short = tmp_path / "short.jsonl"  # JSON Lines, one question short
    short.write_text("".join(json.dumps(baseline_result(b["question"])) + "\n" for b in batch[1:]))
    loads = tiny_bot.loads
    corpus = ["--corpus", str(tiny_corpus), "--no-stock"]
    kit = ["--pairs", str(tmp_path / "kit2")]
    assert cli.main(["eval", *corpus, *kit, "--baseline", str(short)]) == 2
    err = capsys.readouterr().err
    assert "1 of 6 questions have no result in the baseline file" in err
    assert "tune/a1" in err and tiny_bot.loads == loads  # refused before the model loaded
    assert cli.main(["eval", *corpus, "--baseline", str(short)]) == 2
    assert "--baseline goes with --pairs DIR" in capsys.readouterr().err
    assert (
        cli.main(
            ["eval", *corpus, *kit, "--baseline", str(short), "--allow-missing-baseline", "--json"]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["pairs"]["baseline"]["missing"] == ["tune/a1"]


def write_kit(path: Path) -> Path:
    """A hand-made three-candidate kit: one question per group, and a two-candidate one."""
    path.mkdir()
    questions = [
        ("q1", "answered", [], ("composed", "baseline", "retrieved")),
        ("q2", "partial", [], ("baseline", "retrieved", "composed")),
        (
            "q3",
            "answered",
            [{"role": "user", "content": "earlier"}],
            ("retrieved", "composed", "baseline"),
        ),
        ("q4", "not_in_library", [], ("retrieved", "composed")),
    ]
    keys, pairs = [], []
    for qid, scope, history, sources in questions:
        labels = dict(zip("ABC", sources, strict=False))
        keys.append(json.dumps({"set": "tune", "id": qid, **labels, "seed": 0}))
        pairs.append(json.dumps({"set": "tune", "id": qid, "scope": scope, "history": history}))
    (path / "key.jsonl").write_text("\n".join(keys) + "\n")
    (path / "pairs.jsonl").write_text("\n".join(pairs) + "\n")
    return path


def marks(a: int, e: int, u: int, c: int = 2) -> dict:
    return {"addresses": a, "evidence": e, "useful": u, "citations": c}


def test_tally_gives_means_top_share_and_preferences(tmp_path, capsys):
    kit = write_kit(tmp_path / "kit")
    first = [  # labels: q1 A=composed B=baseline C=retrieved; q2 A=baseline B=retrieved C=composed
        {
            "set": "tune",
            "id": "q1",
            "grades": {"A": marks(2, 2, 2), "B": marks(2, 1, 1), "C": marks(1, 1, 0, 1)},
            "order": "A>B>C",
        },
        {
            "set": "tune",
            "id": "q2",
            "grades": {"A": marks(2, 2, 2), "B": marks(0, 0, 0, 0), "C": marks(2, 1, 2)},
            "order": "A>C>B",
        },
        {
            "set": "tune",
            "id": "q3",
            "grades": {"A": marks(2, 2, 2), "B": marks(2, 1, 1), "C": marks(2, 2, 1)},
            "order": "A>C>B",
        },
        {
            "set": "tune",
            "id": "q4",
            "grades": {"A": marks(1, 1, 1), "B": marks(0, 0, 0)},
            "prefer": "A",
        },
    ]
    second = [  # a second grader on q1: averaged; their preference of baseline over composed
        {
            "set": "tune",
            "id": "q1",
            "grades": {"A": marks(2, 1, 1), "B": marks(2, 2, 2), "C": marks(1, 1, 0)},
            "order": "B>A>C",
        },
    ]
    g1, g2 = tmp_path / "g1.jsonl", tmp_path / "g2.jsonl"
    g1.write_text("".join(json.dumps(r) + "\n" for r in first))
    g2.write_text("".join(json.dumps(r) + "\n" for r in second))
    assert tally.main([str(kit), str(g1), str(g2), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["graded"] == 4 and report["graded_more_than_once"] == 1
    assert report["not_graded"] == [] and report["malformed"] == []
    means = report["means"]
    assert means["composed"]["answerable"] == {
        "n": 1,
        "addresses": 2.0,
        "evidence": 1.5,
        "useful": 1.5,
        "citations": 2.0,
    }
    assert (
        means["composed"]["partial"]["addresses"] == 2.0
        and means["composed"]["follow-up"]["useful"] == 1.0
    )
    assert means["composed"]["all"] == {
        "n": 4,
        "addresses": 1.5,
        "evidence": 0.875,
        "useful": 1.125,
        "citations": 2.0,
    }
    assert means["retrieved"]["answerable"]["citations"] == 1.5
    assert means["baseline"]["off-library"]["n"] == 0 and means["baseline"]["all"]["n"] == 3
    assert means["retrieved"]["off-library"] == {
        "n": 1,
        "addresses": 1.0,
        "evidence": 1.0,
        "useful": 1.0,
        "citations": 2.0,
    }
    # addresses+evidence+useful >= 5 in-library: composed q1 (2+1.5+1.5) and q2, not q3 (4);
    # baseline all three; retrieved q3 only; off-library q4 is not counted
    assert report["top_share"]["composed"] == {"hits": 2, "n": 3, "share": pytest.approx(2 / 3)}
    assert report["top_share"]["baseline"] == {"hits": 3, "n": 3, "share": 1.0}
    assert report["top_share"]["retrieved"] == {"hits": 1, "n": 3, "share": pytest.approx(1 / 3)}
    prefs = report["preferences"]
    # vs retrieved: q1 win (both graders), q2 win, q3 loss, q4 loss (prefer "A": retrieved)
    assert prefs["composed vs retrieved"] == {
        "wins": 2,
        "ties": 0,
        "losses": 2,
        "n": 4,
        "ratio": 1.0,
    }
    # vs baseline: q1 split (tie), q2 loss, q3 loss; q4 has no baseline
    assert prefs["composed vs baseline"] == {
        "wins": 0,
        "ties": 1,
        "losses": 2,
        "n": 3,
        "ratio": 0.0,
    }

    assert tally.main([str(kit), str(g1), str(g2)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("4 of 4 questions graded; 1 graded more than once (averaged);")
    assert re.search(r"^composed +answerable +1 +2\.00 +1\.50 +1\.50 +2\.00$", text, re.M)
    assert "  composed   2/3 (0.67)" in text
    assert "composed vs retrieved: 2 wins, 0 ties, 2 losses (wins:losses 2:2 = 1.00)" in text


def test_tally_reports_malformed_lines_and_ungraded_questions(tmp_path, capsys):
    kit = write_kit(tmp_path / "kit")
    good = {"A": marks(2, 2, 2), "B": marks(1, 1, 1), "C": marks(0, 0, 0)}
    lines = [
        "{not json",
        json.dumps({"set": "tune", "id": "nope", "grades": good, "order": "A>B>C"}),
        json.dumps(
            {"set": "tune", "id": "q1", "grades": {"A": good["A"], "B": good["B"]}, "order": "A>B"}
        ),
        json.dumps(
            {"set": "tune", "id": "q1", "grades": {**good, "C": {"addresses": 3}}, "order": "A>B>C"}
        ),
        json.dumps({"set": "tune", "id": "q1", "grades": good}),  # no order, three candidates
        json.dumps({"set": "tune", "id": "q1", "grades": good, "order": "A>B"}),
        json.dumps({"set": "tune", "id": "q1", "grades": good, "order": "A>B>D"}),
        json.dumps(
            {
                "set": "tune",
                "id": "q4",
                "grades": {"A": good["A"], "B": good["B"]},
                "prefer": "A",
                "order": "B>A",
            }
        ),
        json.dumps({"set": "tune", "id": "q2", "grades": good, "order": "C>A=B"}),  # good
        # two candidates need no order or prefer (graded, no preference)
        json.dumps({"set": "tune", "id": "q4", "grades": {"A": good["A"], "B": good["B"]}}),
    ]
    grades = tmp_path / "grades.jsonl"
    grades.write_text("\n".join(lines) + "\n")
    assert tally.main([str(kit), str(grades)]) == 1
    text = capsys.readouterr().out
    assert "2 of 4 questions graded" in text and "8 malformed lines; 2 not graded." in text
    assert "not graded (2): tune/q1, tune/q3" in text
    assert "composed vs retrieved: 1 wins, 0 ties, 0 losses (wins:losses 1:0 = no losses)" in text
    for number, reason in [
        (1, "not JSON"),
        (2, "'nope' is not a question of the kit"),
        (3, '"grades" must grade A/B/C (given: A/B)'),
        (4, "C.addresses is 3, not 0, 1 or 2"),
        (5, '"order" is missing (three candidates)'),
        (6, "leaves out C"),
        (7, "names 'D'"),
        (8, "contradicts"),
    ]:
        assert re.search(
            rf"^  {re.escape(str(grades))}:{number}: .*{re.escape(reason)}", text, re.M
        )


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
QUESTION_FILES = sorted((ROOT / "eval" / "blind").glob("*.jsonl")) + [
    ROOT / "eval" / "devset.jsonl",
    ROOT / "eval" / "heldout.jsonl",
]


def test_every_question_file_passes_the_evidence_checker(capsys):
    assert len(QUESTION_FILES) == 11  # W1-W8, spent, dev, heldout
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
