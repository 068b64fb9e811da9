"""Bring independent writers' question files into the library's question folder:

    python -m ingest.question_import SOURCE DEST [SOURCE DEST ...]

Each SOURCE (a writer's JSON Lines) is copied to DEST with every passage's fingerprint
added and the questions untouched; lines that do not parse or name a passage the library
does not have are dropped and counted (ingest.questions.import_writer_file).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ingest.pipeline import build_chunks
from ingest.questions import import_writer_file


def main(argv: list[str] | None = None) -> None:
    from assistant.core.settings import Settings

    args = argv if argv is not None else sys.argv[1:]
    chunks = build_chunks(Settings.from_env())
    for source, dest in zip(args[::2], args[1::2], strict=True):
        print(source, "->", dest, import_writer_file(Path(source), Path(dest), chunks))


if __name__ == "__main__":
    main()
