"""`lbw eval`: retrieval and answers scored on a question set, next to the stock recipe.

The scoring code lives in `eval/` (the `eval` extra), outside the runtime package.
"""

from __future__ import annotations

import argparse

from assistant.cli.common import add_output_args, positive_k, print_json, settings_from


def cmd_eval(args) -> int:
    from eval.scoring import format_report, run_eval

    report = run_eval(
        settings_from(args), args.questions, k=args.k or 8, include_stock=not args.no_stock
    )
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="score retrieval and answers on a question set, next to the stock recipe"
    )
    p.add_argument("--questions", default="eval/devset.jsonl")
    p.add_argument("-k", type=positive_k, default=8)
    p.add_argument("--no-stock", action="store_true", help="skip the stock LangChain baseline")
    add_output_args(p)
    p.set_defaults(func=cmd_eval)
