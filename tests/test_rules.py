"""eval.rules: a rule switched off never matches, wherever it was imported, and comes back."""

from __future__ import annotations

from assistant.answer import scope
from assistant.retrieval import reading
from assistant.retrieval.query import plan_query
from eval import rules


def test_a_switched_off_rule_matches_nowhere_and_comes_back():
    question = "Which of the seven tensions should we tackle first?"
    assert "ranking" in plan_query(question).asks
    assert scope.missing_parts(question, [])
    with rules.switched_off("RANKING_ASK"):
        assert reading.RANKING_ASK is rules.NEVER and scope.RANKING_ASK is rules.NEVER
        assert "ranking" not in plan_query(question).asks
        assert not scope.missing_parts(question, [])  # scope.MISSING holds it too
    assert "ranking" in plan_query(question).asks
    assert scope.missing_parts(question, [])


def test_changes_lists_only_what_moved():
    base = {"tune": {"top8": 0.774, "refused": 1}, "test": {"top8": 0.672, "refused": 7}}
    now = {"tune": {"top8": 0.774, "refused": 2}, "test": {"top8": 0.672, "refused": 7}}
    assert rules.changes(base, now) == {"tune": {"refused": (1, 2)}}
    assert set(rules.RULES) >= {"FIGURE_ASK", "LESSON_WORDS", "LEGAL_ASK", "OTHERS"}
