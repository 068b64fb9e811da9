"""Checks on untrusted input: what a user hands the command line (question text, JSON files
read whole), and the length of what a language model streams back.

The rest of the pipeline assumes text that is valid Unicode and files that are small,
regular and shallow. A terminal in the wrong encoding, a hand-edited JSON file with a lone
surrogate escape, `--history /dev/zero` or a folder break those assumptions deep inside a
tokenizer or the JSON decoder, where the traceback says nothing a user can act on. So each
is refused here, at the edge, with the exit code of bad input (2). Every file a command
reads (`--history`, `--batch`, `--context`, `--pathway`, `--questions`, `--baseline`) goes
through `read_input_bytes`: a regular file only, opened without blocking (a FIFO would
otherwise wait forever for a writer), and never more than its cap (`/dev/zero` once grew a
process to 15 GB). A model that ignores its token limit is bounded the same way (`capped`).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from assistant.core.errors import LbwError

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_HISTORY_BYTES = 4 * MB  # a conversation; far beyond any real one
MAX_BATCH_BYTES = 256 * MB  # an evaluation or benchmark batch (also --questions, --baseline)
MAX_SMALL_FILE_BYTES = 4 * MB  # what a person writes: --context JSON, a --pathway CSV


def text_problem(text: str, from_bytes: bool = True) -> str | None:
    """Why `text` is not valid Unicode text, or None when it is.

    Python keeps bytes that are not UTF-8 (a question typed in a Latin-1 terminal) as lone
    surrogates U+DC80..U+DCFF (`from_bytes`: say which byte), and JSON's `\\ud800` escapes
    make lone surrogates too; neither can be encoded, so the embedder's tokenizer fails on them.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = ord(text[exc.start])
        where = f"at character {exc.start + 1}"
        if from_bytes and 0xDC80 <= char <= 0xDCFF:  # an undecodable byte, as Python keeps it
            return f"is not valid UTF-8 (byte 0x{char - 0xDC00:02X} {where})"
        return f"holds a lone surrogate U+{char:04X} {where} (half of a character)"
    return None


def check_text(text: str, what: str, error: type[LbwError]) -> str:
    """`text` unchanged if it is valid Unicode; otherwise `error` naming `what`."""
    if problem := text_problem(text):
        raise error(f"The {what} {problem}; retype it as UTF-8 text.")
    return text


def read_input_bytes(path: str | Path, what: str, limit: int, error: type[LbwError]) -> bytes:
    """The bytes of a regular file, at most `limit` of them; `error` (exit 2) for anything else.

    The file is opened without blocking and checked on the open descriptor: a FIFO opens at
    once and is refused instead of waiting for a writer, a device (`/dev/zero`) or socket is
    refused before a byte is read, and a file that grows past its size after the check is
    still read only up to the limit.
    """
    name = what[:1].upper() + what[1:]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise error(f"{name} not found: {path}") from exc
    except IsADirectoryError as exc:
        raise error(f"{name} {path} is a folder; name a file.") from exc
    except OSError as exc:
        raise error(f"Cannot read {what} {path}: {exc.strerror or exc}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # checked on the descriptor, before a byte is read
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{name} {path} is a folder; name a file.")
        raise error(f"{name} {path} is not a regular file (a device, pipe or socket).")
    with os.fdopen(fd, "rb") as fh:
        if info.st_size > limit:
            raise error(f"{name} {path} is larger than {limit / MB:g} MB; it cannot be used.")
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise error(f"Cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise error(f"{name} {path} is larger than {limit / MB:g} MB; it cannot be used.")
    return data


def read_text_file(path: str | Path, what: str, limit: int, error: type[LbwError]) -> str:
    """A UTF-8 file read whole through `read_input_bytes`; `error` for anything else."""
    data = read_input_bytes(path, what, limit, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{what.capitalize()} {path} is not UTF-8 text (byte 0x{data[exc.start]:02X} at "
            f"offset {exc.start})."
        ) from exc


def parse_json(text: str, what: str, error: type[LbwError]) -> Any:
    """JSON, or `error`: for bad syntax, and for nesting deeper than the decoder's recursion
    limit (a RecursionError otherwise)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise error(f"{what} is nested too deeply to be a list of messages.") from exc


def strings_problem(value: Any) -> str | None:
    """What is wrong with the first string inside parsed JSON `value` (lists and objects, keys
    included) that is not valid Unicode; None when all are. Iterative: depth costs no stack."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if problem := text_problem(item, from_bytes=False):
                return problem
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list | tuple):
            todo.extend(item)
    return None


def capped(pieces: Iterable[str], limit: int) -> Iterator[str]:
    """`pieces` up to `limit` characters in all; the rest is not read. A model that ignores
    its token limit once wrote a 38 MB answer; the reader, not the model, decides when to stop."""
    total = 0
    for piece in pieces:
        if total + len(piece) > limit:
            if rest := piece[: limit - total]:
                yield rest
            log.warning("The language model's answer was cut at %d characters", limit)
            return
        total += len(piece)
        yield piece
