"""`lbw`: the command-line contract of GUIDE §4.

`--json` prints exactly one JSON document on stdout; errors go to stderr with a non-zero
exit and never a traceback. Each command group is a module with a `register(sub)`; this
module only builds the parser from them, in the order `lbw --help` lists the commands.
"""

from __future__ import annotations

import argparse
import os
import sys

from assistant.cli import answers, catalog, discussion, evaluate, library
from assistant.core.errors import LbwError

GROUPS = (answers, catalog, evaluate, library, discussion)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lbw", description="Look Both Ways Assistant: cited answers from the library."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("retrieve", "ask") and not args.batch and args.question is None:
        parser.error(f"{args.command} needs a QUESTION (or --batch FILE)")
    if getattr(args, "jsonl", False) and not args.batch:
        parser.error("--jsonl goes with --batch FILE")
    try:
        return args.func(args)
    except LbwError as exc:
        print(f"lbw: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lbw: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """The reader of stdout went away (`lbw ask ... | head -1`): stop quietly, as `cat` does,
    with the shell's code for SIGPIPE. Python would otherwise print a traceback, and again
    when it flushes stdout at exit, so stdout is pointed at /dev/null first."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == "__main__":
    sys.exit(main())
