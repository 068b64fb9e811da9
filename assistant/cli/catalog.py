"""`lbw examples`, `lbw survey`, `lbw questions`: the white paper's framework as data.

They read the live build's catalog without loading the model.
"""

from __future__ import annotations

import argparse

from assistant.cli.common import add_output_args, print_json, settings_from


def cmd_examples(args) -> int:
    from assistant.core import catalog as framework
    from assistant.storage.builds import open_live

    catalog = open_live(settings_from(args)).catalog
    found = framework.examples(catalog, args.tension, args.side, args.system)
    if args.json:
        print_json({"examples": [framework.public_example(e) for e in found]})
        return 0
    for e in found:
        quote = f" {e['quote']}" if e.get("quote") else ""
        print(f"[{e['tension']} / {e['side']}] {e['system']}: {e['title']}.{quote} ({e['leader']})")
    print(f"{len(found)} example(s).")
    return 0


def cmd_survey(args) -> int:
    from assistant.core import catalog as framework
    from assistant.storage.builds import open_live

    found = framework.findings(open_live(settings_from(args)).catalog, args.tension)
    if args.json:
        print_json({"findings": [framework.public_finding(f) for f in found]})
        return 0
    for f in found:
        shares = ", ".join(
            f"{name} {f[key]:.0%}"
            for name, key in (
                ("lean a", "lean_a"),
                ("lean b", "lean_b"),
                ("top priority", "top_priority"),
                ("devoted resources", "devoted_resources"),
            )
            if f.get(key) is not None
        )
        print(f"{f['tension']}: n={f['n']}, median {f['median']}, mean {f['mean']}; {shares}")
        for note in f["notes"]:
            print(f"  note: {note}")
    return 0


def cmd_questions(args) -> int:
    from assistant.core import catalog as framework
    from assistant.storage.builds import open_live

    found = framework.questions(open_live(settings_from(args)).catalog, args.tension)
    if args.json:
        print_json({"questions": [framework.public_question(q) for q in found]})
        return 0
    for q in found:
        print(f"[{q['tension'] or q['source']}] {q['text']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("examples", help="district examples from the white paper")
    p.add_argument("--tension", help="tension id (GUIDE §2)")
    p.add_argument("--side", choices=("a", "b", "combine"))
    p.add_argument("--system", help='a school system, e.g. "Fulton" or "CPS"')
    add_output_args(p)
    p.set_defaults(func=cmd_examples)
    for name, func, help_text in (
        ("survey", cmd_survey, "the leaders survey's findings per tension"),
        ("questions", cmd_questions, "reflection questions and the two guides' questions"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--tension", help="tension id (GUIDE §2)")
        add_output_args(p)
        p.set_defaults(func=func)
