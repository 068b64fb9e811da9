"""`lbw eval`: retrieval and answers scored on question sets, next to the stock recipe.

With no `--questions`, one process scores the blind tune and test splits and the two old
sets (dev, heldout) and prints them side by side with the tune - test gap; `--split` keeps
one blind split; `--questions FILE` scores one file as before. The scoring code lives in
`eval/` (the `eval` extra), outside the runtime package.
"""

from __future__ import annotations

import argparse

from assistant.cli.common import add_output_args, positive_k, print_json, settings_from


def cmd_eval(args) -> int:
    from eval.questions import named_sets
    from eval.report import format_report, format_sets
    from eval.scoring import run_eval, run_sets

    settings = settings_from(args)
    options = {
        "k": args.k or 8,
        "include_stock": not args.no_stock,
        "pairs_dir": args.pairs,
        "seed": args.seed,
        "baseline": args.baseline,
        "allow_missing_baseline": args.allow_missing_baseline,
        "replies": args.replies,
    }
    if args.questions:
        report = run_eval(settings, args.questions, **options)
        text = format_report
    else:
        report = run_sets(settings, named_sets(args.split), **options)
        text = format_sets
    if args.json:
        print_json(report)
    else:
        print(text(report))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="score retrieval and answers on a question set, next to the stock recipe"
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--questions", default=None)
    p.add_argument("-k", type=positive_k, default=8)
    p.add_argument("--no-stock", action="store_true", help="skip the stock LangChain baseline")
    which.add_argument(
        "--split",
        choices=("tune", "test"),
        help="score one blind split (tune: W1-W2, test: W3-W8) instead of every set",
    )
    p.add_argument(
        "--pairs",
        metavar="DIR",
        help="also write blind grading pairs for every question scored: DIR/pairs.jsonl "
        "(composed answer and top three retrieved passages as A and B), DIR/key.jsonl",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the A/B order in --pairs (default 0)"
    )
    p.add_argument(
        "--baseline",
        metavar="FILE",
        help="with --pairs: another version's `lbw ask --batch FILE --json` output; each pair "
        "then has three candidates (composed, baseline, retrieved) as A, B and C",
    )
    p.add_argument(
        "--allow-missing-baseline",
        action="store_true",
        help="with --baseline: give questions the file has no answer for two candidates "
        "instead of stopping",
    )
    p.add_argument(
        "--replies",
        metavar="DIR",
        help="answer through the language-model path with stand-ins' recorded replies "
        "(eval/standin.py): DIR/replies/<key>.md; prompts with no reply are recorded in "
        "DIR/prompts/ and answered NOT_IN_LIBRARY",
    )
    add_output_args(p)
    p.set_defaults(func=cmd_eval)
