"""The user library folder is lbw's own: created and marked by lbw, never someone else's.

Why: `LBW_LIBRARY_DIR` (or its default, `library/` beside the store) can name a folder that
already exists. An earlier `lbw ingest` took every .pdf, .docx, .html, .md and .txt in such a
folder for a file left by a killed `lbw add` and deleted it: a user's own folder was emptied.
Now ownership is proven, never guessed:

- lbw creates the folder (private to the user, 0700) and writes a marker file in it
  (`MARKER`). An existing folder without the marker is taken on only when nothing in it could
  be anyone's (it is empty, or it is a library an earlier lbw made: a valid manifest and
  the files it lists); otherwise it is refused with a message that names it.
- A marked folder holding files its manifest never listed is refused too: lbw does not guess
  whose they are, and nothing in a refused folder is touched.
- Before `lbw add` copies files in (or `lbw remove` lets one go), it writes their names to a
  journal (`PENDING`). Recovery after a crash deletes only names in that journal that no
  manifest entry took, so the only files lbw ever deletes are files lbw itself wrote.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from assistant.core.errors import IngestError
from assistant.storage.builds import write_text_atomic
from ingest.userlib import CACHE, MANIFEST, UserEntry, read_user_manifest

MARKER = ".lbw-library"
PENDING = ".lbw-pending.json"
# Names lbw gives stored files (ingest.userlib.new_doc_id + ingest.formats.SAVE_AS).
STORED_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.(?:pdf|docx|html|md|txt)$")
# What write_text_atomic leaves behind if killed mid-write: `.<name>.<random>`.
_OUR_TEMP = re.compile(rf"^\.(?:{re.escape(MANIFEST)}|{re.escape(PENDING)}|{re.escape(MARKER)})\.")
# Files an operating system's file manager drops in any folder it shows: never documents.
OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".directory"})
MARKER_TEXT = (
    "This folder is the Look Both Ways Assistant's user library: `lbw add` keeps copies of the\n"
    "documents you add here. It was created by lbw; lbw refuses to use a folder without this\n"
    "file if anything else is in it, and never deletes files it did not write.\n"
)


def _listing(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir())
    except OSError as exc:
        raise IngestError(f"Cannot read the library folder {folder}: {exc.strerror}.") from exc


def _shown(names: list[str]) -> str:
    first = ", ".join(names[:5])
    return first + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def pending_names(folder: Path) -> list[str]:
    """The stored-file names the journal holds (only names lbw could have given a file)."""
    try:
        data = json.loads((Path(folder) / PENDING).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        return []  # a journal torn by a crash protects nothing: its files count as foreign
    names = data.get("files") if isinstance(data, dict) else None
    return [n for n in names or [] if isinstance(n, str) and STORED_NAME.match(n)]


def change_in_flight(folder: Path) -> bool:
    """True while a change's journal is there: it started and has not finished."""
    return (Path(folder) / PENDING).is_file()


def write_pending(folder: Path, names: list[str]) -> None:
    """Record files about to be written (or let go), before touching them."""
    write_text_atomic(Path(folder) / PENDING, json.dumps({"files": sorted(names)}))


def clear_pending(folder: Path) -> None:
    (Path(folder) / PENDING).unlink(missing_ok=True)


def check_library_folder(folder: Path, also_ours: Iterable[str] = ()) -> list[UserEntry]:
    """The manifest's entries of a library folder lbw owns; IngestError for any other folder.

    `also_ours` are files the live index records (a change killed before its manifest was
    written). A folder that is not there is an empty library (`claim_library_folder` creates
    it). An unmarked empty folder is left as it is (`lbw add` marks it when it first writes
    there); one an earlier lbw made (a manifest and only its files) is marked now. Anything
    else is refused, and nothing in it is changed.
    """
    folder = Path(folder)
    if not folder.exists() and not folder.is_symlink():
        return []
    if not folder.is_dir():
        raise IngestError(
            f"The library folder {folder} is not a folder. Set LBW_LIBRARY_DIR to a folder "
            "lbw may create (one that does not exist yet)."
        )
    marked = (folder / MARKER).is_file()
    try:
        entries = read_user_manifest(folder)
    except IngestError:
        if marked:
            raise
        entries, unreadable = [], True
    else:
        unreadable = False
    has_manifest = (folder / MANIFEST).is_file() and not unreadable
    listed = {e.file for e in entries} | set(also_ours)
    ours = {MARKER, PENDING, CACHE, *listed, *pending_names(folder)}
    if has_manifest:
        ours.add(MANIFEST)
    foreign = [
        name
        for name in _listing(folder)
        if name not in ours and name not in OS_LITTER and not _OUR_TEMP.match(name)
    ]
    if not marked:
        if foreign or (not has_manifest and (folder / CACHE).exists()):
            raise IngestError(
                f"The library folder {folder} was not created by lbw (it has no {MARKER} "
                f"file) and holds files lbw did not put there: {_shown(foreign or [CACHE])}. "
                "lbw never uses, changes or deletes such a folder. Set LBW_LIBRARY_DIR to a "
                "new folder (lbw creates it), or move those files somewhere else."
            )
        if has_manifest:
            _mark(folder)  # a library an earlier lbw made: its files are all its manifest's
        return entries
    if foreign:
        raise IngestError(
            f"The library folder {folder} holds files its manifest never listed: "
            f"{_shown(foreign)}. lbw does not index, change or delete files it did not add. "
            "Move them out of the folder (add them with `lbw add` if they belong in the "
            "library), then run the command again."
        )
    return entries


def claim_library_folder(folder: Path) -> None:
    """Create the library folder (0700) with its marker; the caller has checked it first."""
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not (folder / MARKER).is_file():
        _mark(folder)


def _mark(folder: Path) -> None:
    write_text_atomic(folder / MARKER, MARKER_TEXT)


def delete_unreferenced(folder: Path, listed: set[str]) -> None:
    """After a crash: delete journal files no manifest entry took, then the journal.

    Only names lbw wrote to the journal before writing the files are candidates, and only
    regular files (never a link or a folder that took one's name) are deleted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return
    for name in pending_names(folder):
        if name in listed:
            continue
        path = folder / name
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            path.unlink(missing_ok=True)
    clear_pending(folder)
    for name in _listing(folder):
        if _OUR_TEMP.match(name):
            (folder / name).unlink(missing_ok=True)


def write_private(path: Path, data: bytes) -> None:
    """Create `path` (0600) with `data`: never over an existing file, never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
