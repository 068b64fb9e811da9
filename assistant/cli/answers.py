"""`lbw ingest`, `lbw retrieve`, `lbw ask`: build the index, and question it.

The heavy imports (the model, Chroma) happen inside the commands so `lbw ingest` on an
unchanged library returns in well under two seconds.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from assistant.cli.common import (
    add_output_args,
    print_json,
    read_batch,
    read_history,
    settings_from,
)
from assistant.core.backends import LLM_BACKENDS
from assistant.core.labels import verification_note


def cmd_ingest(args) -> int:
    from ingest.pipeline import run_ingest

    settings = settings_from(args)
    report = run_ingest(settings, rebuild=args.rebuild, progress=not args.quiet)
    # Questions run the model through ONNX (fast start); make that export now, once.
    from assistant.embedding.onnx import ensure_export

    ensure_export(settings.models_dir, settings.model_path)
    if args.json:
        print_json(report.to_dict())
    else:
        state = (
            "published build " + report.build_id
            if report.changed
            else "library unchanged; nothing to do"
        )
        print(
            f"{report.documents} documents, {report.chunks} passages: {report.embedded} embedded, "
            f"{report.reused} reused; {report.repaired_chars} characters of lost-byte mojibake "
            f"repaired, {report.dropped_lines} boilerplate lines dropped; {state} ({report.seconds:.1f} s)."
        )
    return 0


def cmd_retrieve(args) -> int:
    from assistant.service import load_assistant, validate_history

    settings = settings_from(args)
    bot = load_assistant(settings)
    k = args.k or settings.top_k
    if args.batch:
        results = []
        for item in read_batch(args.batch):
            started = time.perf_counter()
            passages = bot.retrieve(item["question"], validate_history(item.get("history")), k=k)
            results.append(
                {
                    "question": item["question"],
                    "passages": [p.to_dict() for p in passages],
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                }
            )
        print_json({"results": results})
        return 0
    passages = bot.retrieve(args.question, read_history(args), k=k)
    if args.json:
        print_json({"question": args.question, "passages": [p.to_dict() for p in passages]})
    else:
        for i, p in enumerate(passages, start=1):
            print(f"{i}. [{p.score:.4f}] {p.title} — {p.section}\n   {p.text[:200]!r}")
    return 0


def cmd_ask(args) -> int:
    from assistant.service import load_assistant, validate_history

    bot = load_assistant(settings_from(args))
    if args.batch:
        results = []
        for item in read_batch(args.batch):
            started = time.perf_counter()
            answer = bot.ask(item["question"], validate_history(item.get("history")))
            results.append(
                {
                    "question": item["question"],
                    **answer.to_dict(),
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                }
            )
        print_json({"results": results})
        return 0
    if args.json:
        print_json(bot.ask(args.question, read_history(args)).to_dict())
        return 0
    # Text: print the checked answer as it is written, then its sources.
    stream = bot.ask_stream(args.question, read_history(args))
    shown = ""
    for piece in stream:
        sys.stdout.write(piece)
        sys.stdout.flush()
        shown += piece
    answer = stream.result()
    if stream.replaced:  # the model failed: the offline answer replaces what was shown
        shown = ("\n\n---\n" if shown.strip() else "") + answer.answer
        sys.stdout.write(shown)
    if not shown.endswith("\n"):
        print()
    printed = answer.answer
    if answer.more and args.full:
        print(f"\nMore from the library:\n\n{answer.more}")
        printed += answer.more
    # The sources of what was printed ("More from the library" may cite more).
    numbers = {int(n) for n in re.findall(r"(?<!\\)\[(\d+)\]", printed)}
    sources = [c for c in answer.citations if c.n in numbers]
    if sources:
        print("\nSources:")
        for c in sources:
            pages = f", pp. {c.pages}" if c.pages else ""
            print(f"[{c.n}] {c.title} — {c.section}{pages}")
    if note := verification_note(answer):
        print(f"\n({note})")
    if answer.more and not args.full:
        print("\n(More from the library: ask again with --full.)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="build or update the index from the library folder")
    p.add_argument("--corpus", help="library folder (default: LBW_CORPUS_DIR or ./corpus)")
    p.add_argument("--rebuild", action="store_true", help="start over: re-embed every passage")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    for name, func, help_text in (
        ("retrieve", cmd_retrieve, "show the passages retrieved for a question"),
        ("ask", cmd_ask, "answer a question with citations"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("question", nargs="?", help="the question (omit with --batch)")
        p.add_argument(
            "--history", help="JSON file: list of {role, content} messages, oldest first"
        )
        p.add_argument("--batch", help="JSON Lines file of {question, history?}")
        add_output_args(p)
        p.add_argument(
            "--llm",
            choices=LLM_BACKENDS,
            help="language model backend (default: LBW_LLM, else none: the offline composer)",
        )
        p.add_argument("--model", help="language model name (default: LBW_LLM_MODEL)")
        if name == "retrieve":
            p.add_argument("-k", type=int, default=None, help="number of passages (default 8)")
        else:
            p.add_argument(
                "--full",
                action="store_true",
                help='also print the fuller layout, "More from the library" (--json always '
                'has it, as "more")',
            )
        p.set_defaults(func=func)
