"""`lbw ingest`, `lbw retrieve`, `lbw ask`: build the index, and question it.

The heavy imports (the model, Chroma) happen inside the commands, so `lbw ingest` on an
unchanged library loads no model, and on an embedded store whose `chroma` folder is as its
build recorded it does not import Chroma either; otherwise it opens the live collection (about
a second) to check that the vectors are where the settings say and whole.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from assistant.cli.common import (
    BatchItem,
    add_output_args,
    check_question,
    positive_k,
    print_json,
    read_batch,
    read_history,
    settings_from,
)
from assistant.core.backends import LLM_BACKENDS
from assistant.core.errors import LbwError
from assistant.core.labels import verification_note


def cmd_ingest(args) -> int:
    from ingest.pipeline import run_ingest

    settings = settings_from(args)
    report = run_ingest(settings, rebuild=args.rebuild, progress=not args.quiet)
    # MiniLM's questions run through ONNX (fast start); make that export now, once.
    if settings.embedder == "minilm":
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
        if report.note:
            print(f"{report.note}; writing a new build.")
        print(
            f"{report.documents} documents, {report.chunks} passages: {report.embedded} embedded, "
            f"{report.reused} reused, {report.sentences_embedded} sentences embedded, "
            f"{report.questions_embedded} questions embedded; {report.repaired_chars} characters of lost-byte mojibake "
            f"repaired, {report.dropped_lines} boilerplate lines dropped; {state} ({report.seconds:.1f} s)."
        )
        if report.questions_stale:
            print(
                f"{report.questions_stale} questions of the question index were left out: the "
                "passages they were written for changed (see corpus/questions/README.md).",
                file=sys.stderr,
            )
    return 0


def cmd_retrieve(args) -> int:
    from assistant.service import load_assistant

    settings = settings_from(args)
    items = read_batch(args.batch, settings) if args.batch else None
    question = None if items is not None else check_question(args.question)
    history = read_history(args) if items is None else []
    bot = load_assistant(settings)
    k = args.k or settings.top_k
    if items is not None:
        return run_batch(
            items,
            lambda item: {
                "passages": [p.to_dict() for p in bot.retrieve(item.question, item.history, k=k)]
            },
            args.jsonl,
        )
    passages = bot.retrieve(question, history, k=k)
    if args.json:
        print_json({"question": question, "passages": [p.to_dict() for p in passages]})
    else:
        for i, p in enumerate(passages, start=1):
            print(f"{i}. [{p.score:.4f}] {p.title} — {p.section}\n   {p.text[:200]!r}")
    return 0


def cmd_ask(args) -> int:
    from assistant.service import load_assistant

    settings = settings_from(args)
    items = read_batch(args.batch, settings) if args.batch else None
    question = None if items is not None else check_question(args.question)
    history = read_history(args) if items is None else []
    bot = load_assistant(settings)
    if items is not None:
        return run_batch(
            items, lambda item: bot.ask(item.question, item.history).to_dict(), args.jsonl
        )
    if args.json:
        print_json(bot.ask(question, history).to_dict())
        return 0
    # Text: print the checked answer as it is written, then its sources.
    stream = bot.ask_stream(question, history)
    shown = ""
    for piece in stream:
        sys.stdout.write(piece)
        sys.stdout.flush()
        shown += piece
    answer = stream.result()
    # The model failed (the offline answer replaces what was shown), or its second reading
    # restored sentences held back while in doubt: the final answer is printed whole.
    if stream.replaced or stream.revised:
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


GIVE_UP_AFTER = 10  # failures in a row that end a batch run


def run_batch(
    items: Iterable[BatchItem], work: Callable[[BatchItem], dict[str, Any]], jsonl: bool
) -> int:
    """Run `work` on every batch item, keeping every result finished.

    A question that fails (the Chroma server stopped, a model error the composer did not
    absorb) gets an "error" entry in its place and the run goes on, so an hour of answers is
    not lost to one failure at the end. With `jsonl` each result is written and flushed as
    soon as it is done (a reader can follow the run, and a killed run keeps its lines);
    otherwise the one JSON document comes out at the end, after a failure or Ctrl-C too.
    After GIVE_UP_AFTER failures in a row the remaining questions are not tried (each still
    gets its "error" entry, so results stay one per input line, in order).
    The exit code is non-zero when any question failed (that error's code) or on Ctrl-C.
    """
    results: list[dict[str, Any]] = []
    failures: list[tuple[BatchItem, Exception]] = []
    in_a_row = skipped = 0
    interrupted = False
    try:
        for item in items:
            started = time.perf_counter()
            if in_a_row >= GIVE_UP_AFTER:  # the store or model is gone: do not wait on each
                reason = f"not run: the {GIVE_UP_AFTER} questions before it failed"
                skipped += 1
                result = {"question": item.question, "line": item.line, "error": reason}
            else:
                try:
                    result = {"question": item.question, **work(item)}
                    in_a_row = 0
                except Exception as exc:  # noqa: BLE001 - recorded in the output; the run goes on
                    failures.append((item, exc))
                    in_a_row += 1
                    result = {"question": item.question, "line": item.line, "error": _reason(exc)}
            result["ms"] = round((time.perf_counter() - started) * 1000, 2)
            if jsonl:
                print_json(result)
                sys.stdout.flush()
            else:
                results.append(result)
    except KeyboardInterrupt:
        interrupted = True
    if not jsonl:
        print_json({"results": results})
    if failures:
        item, exc = failures[0]
        not_run = f", {skipped} more not run" if skipped else ""
        print(
            f"lbw: {len(failures)} question(s) failed{not_run}; the first, on line {item.line}: "
            f"{_reason(exc)}",
            file=sys.stderr,
        )
    if interrupted:
        print("lbw: interrupted; the results finished so far were written", file=sys.stderr)
        return 130
    if failures:
        exc = failures[0][1]
        return exc.exit_code if isinstance(exc, LbwError) else 1
    return 0


def _reason(exc: Exception) -> str:
    """A failure as one line: our own errors say what to do; others are named, not traced."""
    if isinstance(exc, LbwError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {str(exc)[:300]}"


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
        p.add_argument(
            "--jsonl",
            action="store_true",
            help="with --batch: print each result as one JSON line as soon as it is done",
        )
        add_output_args(p)
        p.add_argument(
            "--llm",
            choices=LLM_BACKENDS,
            help="language model backend (default: LBW_LLM, else none: the offline composer)",
        )
        p.add_argument("--model", help="language model name (default: LBW_LLM_MODEL)")
        if name == "retrieve":
            p.add_argument(
                "-k", type=positive_k, default=None, help="number of passages (default 8)"
            )
        else:
            p.add_argument(
                "--full",
                action="store_true",
                help='also print the fuller layout, "More from the library" (--json always '
                'has it, as "more")',
            )
        p.set_defaults(func=func)
