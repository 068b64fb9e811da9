"""`lbw prompts` and `lbw guide`: discussion prompts and the facilitation guide for a team.

Both read the live build's catalog and passages without loading the model, so they answer
in about a second.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.cli.common import add_output_args, print_json, settings_from


def cmd_prompts(args) -> int:
    from assistant.framework import discussion
    from assistant.storage.builds import open_live

    context = discussion.read_context(args.context) if args.context else None
    for tid in args.tension or ():
        discussion.check_tension(tid)
    live = open_live(settings_from(args))
    catalog, chunks = live.catalog, live.by_id
    prompts = discussion.discussion_prompts(catalog, chunks, args.tension, context)
    if args.json:
        print_json(
            {
                "context": context.to_dict() if context else None,
                "prompts": [p.to_dict() for p in prompts],
            }
        )
        return 0
    for p in prompts:
        marks = ", ".join(
            f"[{c.n}] {c.section}" + (f", pp. {c.pages}" if c.pages else "") for c in p.citations
        )
        print(f"- ({p.tension}, {p.kind}) {p.text}\n    why: {p.why}\n    source: {marks}")
    print(f"{len(prompts)} prompt(s).")
    return 0


def cmd_guide(args) -> int:
    from assistant.framework import discussion, guide, pathway
    from assistant.storage.builds import open_live

    context = discussion.read_context(args.context) if args.context else None
    for tid in args.tension or ():
        discussion.check_tension(tid)
    team = pathway.read_pathways(args.pathway) if args.pathway else None
    out = Path(args.out)
    fmt = guide.format_for(out)
    live = open_live(settings_from(args))
    catalog, chunks = live.catalog, live.by_id
    meeting = guide.build_guide(catalog, chunks, args.tension, context, team)
    guide.write_guide(meeting, out, fmt)
    if args.json:
        print_json(
            {
                "out": str(out),
                "format": fmt,
                "tensions": meeting.tensions,
                "citations": len(meeting.sources.cited),
            }
        )
    else:
        print(
            f"Wrote the meeting guide to {out} ({fmt}; {len(meeting.tensions)} tension(s), "
            f"{len(meeting.sources.cited)} cited passages)."
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prompts", help="discussion prompts for a leadership team")
    p.add_argument(
        "--tension", action="extend", nargs="+", help="tension id(s) (GUIDE §2); default all"
    )
    p.add_argument("--context", help="JSON file describing your system (see README)")
    add_output_args(p)
    p.set_defaults(func=cmd_prompts)

    p = sub.add_parser(
        "guide", help="write a facilitation guide for a team meeting (.md, .docx or .pdf)"
    )
    p.add_argument("--tension", action="extend", nargs="+", help="tension id(s) to discuss")
    p.add_argument("--context", help="JSON file describing your system (see README)")
    p.add_argument("--pathway", help="CSV of pathways (the template from the app or README)")
    p.add_argument("--out", required=True, help="output file: .md, .docx or .pdf")
    add_output_args(p)
    p.set_defaults(func=cmd_guide)
