"""`lbw`: the command-line contract of GUIDE §4 (ingest, retrieve, ask, eval).

`--json` prints exactly one JSON document on stdout; errors go to stderr with a non-zero
exit and never a traceback. Heavy imports happen inside commands so `lbw ingest` on an
unchanged library returns in well under two seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from assistant.answer.render import verification_note
from assistant.core.errors import InvalidHistory, LbwError
from assistant.core.settings import LLM_BACKENDS, Settings


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def add_output_args(p: argparse.ArgumentParser) -> None:
    """--json, and the hidden --corpus (the library folder, as `lbw ingest --corpus`) that every
    command but ingest takes."""
    p.add_argument("--json", action="store_true")
    p.add_argument("--corpus", help=argparse.SUPPRESS)


def _settings(args) -> Settings:
    return Settings.from_env(
        corpus_dir=Path(args.corpus) if getattr(args, "corpus", None) else None,
        llm=getattr(args, "llm", None),
        llm_model=getattr(args, "model", None),
    )


def _read_batch(path: str) -> list[dict]:
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidHistory(f"Cannot read the batch file {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidHistory(f"Line {number} of {path} is not valid JSON: {exc}") from exc
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise InvalidHistory(f'Line {number} of {path} needs a "question" string.')
        items.append(item)
    return items


def cmd_ingest(args) -> int:
    from ingest.pipeline import run_ingest

    settings = _settings(args)
    report = run_ingest(settings, rebuild=args.rebuild, progress=not args.quiet)
    # Questions run the model through ONNX (fast start); make that export now, once.
    from assistant.embedding.onnx import ensure_export

    ensure_export(settings.models_dir, settings.model_path)
    if args.json:
        _print_json(report.to_dict())
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


def _history(args) -> list:
    from assistant.service import read_history_file

    return read_history_file(args.history) if args.history else []


def cmd_retrieve(args) -> int:
    from assistant.service import load_assistant, validate_history

    settings = _settings(args)
    bot = load_assistant(settings)
    k = args.k or settings.top_k
    if args.batch:
        results = []
        for item in _read_batch(args.batch):
            started = time.perf_counter()
            passages = bot.retrieve(item["question"], validate_history(item.get("history")), k=k)
            results.append(
                {
                    "question": item["question"],
                    "passages": [p.to_dict() for p in passages],
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                }
            )
        _print_json({"results": results})
        return 0
    passages = bot.retrieve(args.question, _history(args), k=k)
    if args.json:
        _print_json({"question": args.question, "passages": [p.to_dict() for p in passages]})
    else:
        for i, p in enumerate(passages, start=1):
            print(f"{i}. [{p.score:.4f}] {p.title} — {p.section}\n   {p.text[:200]!r}")
    return 0


def cmd_ask(args) -> int:
    from assistant.service import load_assistant, validate_history

    bot = load_assistant(_settings(args))
    if args.batch:
        results = []
        for item in _read_batch(args.batch):
            started = time.perf_counter()
            answer = bot.ask(item["question"], validate_history(item.get("history")))
            results.append(
                {
                    "question": item["question"],
                    **answer.to_dict(),
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                }
            )
        _print_json({"results": results})
        return 0
    if args.json:
        _print_json(bot.ask(args.question, _history(args)).to_dict())
        return 0
    # Text: print the checked answer as it is written, then its sources.
    stream = bot.ask_stream(args.question, _history(args))
    shown = ""
    for piece in stream:
        sys.stdout.write(piece)
        sys.stdout.flush()
        shown += piece
    answer = stream.result()
    if shown.strip() != answer.answer.strip():  # the model failed: replaced, say so below
        shown = ("\n\n---\n" if shown.strip() else "") + answer.answer
        sys.stdout.write(shown)
    if not shown.endswith("\n"):
        print()
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            pages = f", pp. {c.pages}" if c.pages else ""
            print(f"[{c.n}] {c.title} — {c.section}{pages}")
    if note := verification_note(answer):
        print(f"\n({note})")
    return 0


def cmd_eval(args) -> int:
    from eval.scoring import format_report, run_eval

    report = run_eval(
        _settings(args), args.questions, k=args.k or 8, include_stock=not args.no_stock
    )
    if args.json:
        _print_json(report)
    else:
        print(format_report(report))
    return 0


def cmd_examples(args) -> int:
    from assistant.core import catalog as framework

    catalog = framework.load_catalog(_settings(args))
    found = framework.examples(catalog, args.tension, args.side, args.system)
    if args.json:
        _print_json({"examples": [framework.public_example(e) for e in found]})
        return 0
    for e in found:
        quote = f" {e['quote']}" if e.get("quote") else ""
        print(f"[{e['tension']} / {e['side']}] {e['system']}: {e['title']}.{quote} ({e['leader']})")
    print(f"{len(found)} example(s).")
    return 0


def cmd_survey(args) -> int:
    from assistant.core import catalog as framework

    found = framework.findings(framework.load_catalog(_settings(args)), args.tension)
    if args.json:
        _print_json({"findings": [framework.public_finding(f) for f in found]})
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

    found = framework.questions(framework.load_catalog(_settings(args)), args.tension)
    if args.json:
        _print_json({"questions": [framework.public_question(q) for q in found]})
        return 0
    for q in found:
        print(f"[{q['tension'] or q['source']}] {q['text']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lbw", description="Look Both Ways Assistant: cited answers from the library."
    )
    sub = parser.add_subparsers(dest="command", required=True)

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
        p.set_defaults(func=func)

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

    p = sub.add_parser(
        "eval", help="score retrieval and answers on a question set, next to the stock recipe"
    )
    p.add_argument("--questions", default="eval/devset.jsonl")
    p.add_argument("-k", type=int, default=8)
    p.add_argument("--no-stock", action="store_true", help="skip the stock LangChain baseline")
    add_output_args(p)
    p.set_defaults(func=cmd_eval)

    from assistant.cli.library import register

    register(sub)  # add, remove, edit, docs
    from assistant.cli.discussion import register as register_discussion

    register_discussion(sub)  # prompts, guide
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("retrieve", "ask") and not args.batch and args.question is None:
        parser.error(f"{args.command} needs a QUESTION (or --batch FILE)")
    try:
        return args.func(args)
    except LbwError as exc:
        print(f"lbw: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lbw: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
