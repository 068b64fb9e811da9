"""What each rule that reads a question is worth: each one switched off in turn.

    python -m eval.rules [--rules NAME ...] [--json]   # needs a built index (LBW_STORE_DIR)

The question is read by a few dozen regular expressions (what it asks for, its kind, whether
it picks a product or names a law). Issue 24 asks that each rule that remains say what it
guards and what it is worth. This switches one rule off at a time (it never matches) and
prints how the figures of `lbw eval` move: all evidence in the top 8, and the scope step's
in-library refused, off-library declined, partial labelled and answered questions wrongly
labelled partial, on the blind tune and test splits and the development and held-out sets. Only aggregates are printed, so the test
split is scored, never read (GUIDE §6). A rule whose switch-off moves nothing is one the
sets do not exercise: its tests say what it guards.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from assistant.answer import asking, scope
from assistant.retrieval import query, reading

# Each rule, by the module that defines it. A module that imports the name, and a tuple that
# holds the pattern (scope.MISSING), are switched too.
RULES: dict[str, Any] = {
    **{
        name: reading
        for name in (
            "FIGURE_ASK",
            "DEGREE_ASK",
            "FIGURE_NOUN",
            "OUTCOME_ASK",
            "PRICE_ASK",
            "MONEY_ASK",
            "RANKING_ASK",
            "LIST_ASK",
            "DISTRICT_ASK",
        )
    },
    **{
        name: query
        for name in (
            "SURVEY_WORDS",
            "REFLECTION_WORDS",
            "LESSON_WORDS",
            "BENEFIT_WORDS",
            "EXAMPLE_WORDS",
            "TENSION_WORDS",
            "FOLLOWUP_START",
            "REFERENCE",
        )
    },
    **{
        name: scope
        for name in (
            "TIMELINE_ASK",
            "LEGAL_ASK",
            "QUANTITY",
            "RESULT_ASK",
            "BUY_ASK",
            "PRODUCT_PICK",
            "ORGANISATION",
        )
    },
    **{name: asking for name in ("NUMBER", "OTHERS")},
}
NEVER = re.compile(r"(?!)")  # matches nothing


@contextmanager
def switched_off(name: str) -> Iterator[None]:
    """The rule `name` never matches, wherever it was imported, until the block ends."""
    original = getattr(RULES[name], name)
    holders = [
        module
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("assistant.") and getattr(module, name, None) is original
    ]
    missing = scope.MISSING
    try:
        for module in holders:
            setattr(module, name, NEVER)
        scope.MISSING = tuple((NEVER if p is original else p, say) for p, say in missing)
        yield
    finally:
        for module in holders:
            setattr(module, name, original)
        scope.MISSING = missing


def figures(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The figures a rule may move, per set, from `run_sets`' report."""
    out = {}
    for name, one in report["sets"].items():
        answers = one["answers"]
        out[name] = {
            "top8": round(one["ours"]["hit_rate"], 3),
            "refused": answers["in_scope_refused"],
            "declined": answers["out_of_scope_declined"],
            "partial": answers["partial_labelled"],
            # in-library questions the library answers, opened by a wrong "what is missing"
            "false_partial": answers["scopes"].get("answered", {}).get("partial", 0),
        }
    return out


def changes(base: Mapping[str, Mapping], now: Mapping[str, Mapping]) -> dict[str, dict]:
    """Per set, each figure that moved: (with the rule, without it)."""
    out: dict[str, dict] = {}
    for name, figs in base.items():
        moved = {k: (v, now[name][k]) for k, v in figs.items() if now[name][k] != v}
        if moved:
            out[name] = moved
    return out


def main(argv: list[str] | None = None) -> int:
    from assistant.core.settings import Settings
    from eval.questions import named_sets
    from eval.scoring import run_sets

    parser = argparse.ArgumentParser(prog="python -m eval.rules", description=__doc__)
    parser.add_argument("--rules", nargs="+", choices=sorted(RULES), default=sorted(RULES))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings.from_env()

    def run() -> dict[str, dict[str, Any]]:
        return figures(run_sets(settings, named_sets(), include_stock=False))

    base = run()
    result = {"with every rule": base, "switched off": {}}
    if not args.json:
        print("with every rule:", json.dumps(base))
    for name in args.rules:
        with switched_off(name):
            moved = changes(base, run())
        result["switched off"][name] = moved
        if not args.json:
            shown = "; ".join(
                f"{s}: " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in m.items())
                for s, m in moved.items()
            )
            print(f"{name:18} {shown or 'no change on any set'}", flush=True)
    if args.json:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
