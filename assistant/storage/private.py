"""The store holds users' text, so it is the owner's alone: files 0600, folders 0700.

An added document's copy was always written 0600, but its full text also goes into the
build (`chunks.jsonl`, `documents.json`, `sentences.npz`, Chroma's database), and those were
written with the process umask: 0644 in 0755 folders under the usual 022, readable by every
local user. Two layers, so neither has to be perfect:

- every writer of the store (ingest, add, remove, edit: `ingest_lock`, the model caches)
  runs under `private_umask`, which covers files other libraries create for us (Chroma's
  SQLite database and its segment folders, numpy's files) as well as our own;
- a finished build is walked once more with `make_private` before it is published, so a
  file created outside the umask (by a thread that changed it back, or an older version's
  build reused in place) is tightened too.

The umask is process-wide; while a writer runs, any file another thread creates is private
as well, which errs on the safe side. A store folder the user named (LBW_STORE_DIR) that
already exists keeps its own mode: only what lbw creates inside it is tightened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
_UMASK = 0o077


@contextmanager
def private_umask() -> Iterator[None]:
    """Files and folders created inside are the owner's alone, whatever the umask was."""
    old = os.umask(_UMASK)
    try:
        yield
    finally:
        os.umask(old)


def private_dir(path: Path) -> Path:
    """`path` created (with its missing parents) as a 0700 folder; returns it."""
    path = Path(path)
    with private_umask():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return path


def make_private(root: Path) -> None:
    """Tighten every folder under `root` (itself included) to 0700 and every file to 0600.

    Links are not followed (a link's target is not ours to change); a file that vanishes
    while walking is skipped."""
    root = Path(root)
    for folder, _dirs, files in os.walk(root, followlinks=False):
        _chmod(Path(folder), DIR_MODE)
        for name in files:
            _chmod(Path(folder) / name, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
            return
        os.chmod(path, mode)
    except FileNotFoundError:
        pass
