"""The attacks of issue 17, each class as the input of one parametrized test.

1. An existing folder as the library: `lbw ingest` deleted a user's files in it.
2. Symbolic links (and other files that are not regular files) given to `lbw add`.

Every refusal is checked the way a user meets it: through `lbw`, with its exit code and one
message on stderr, never a traceback, and nothing changed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import pytest

from assistant import cli
from assistant.core.settings import Settings
from assistant.storage.builds import current_build_id
from ingest.libfolder import MARKER
from ingest.manage import Source, add_documents
from ingest.pipeline import run_ingest
from tests import documents as d
from tests.conftest import HashingEmbedder

SECRET = "root:$6$saltsalt$0123456789abcdefSECRETHASH:19000:0:99999:7:::"


@pytest.fixture(scope="module")
def template(tmp_path_factory, corpus_dir):
    """A home folder with an indexed store (`~/lbw-store`) and nothing else."""
    home = tmp_path_factory.mktemp("home")
    settings = Settings(corpus_dir=corpus_dir, store_dir=home / "lbw-store")
    run_ingest(settings, embedder=HashingEmbedder(), progress=False)
    return home


@pytest.fixture
def home(tmp_path, template):
    shutil.copytree(template, tmp_path / "home")
    return tmp_path / "home"


@pytest.fixture
def lbw(monkeypatch, home, corpus_dir, capsys):
    """Run `lbw ARGS...` in process with LBW_STORE_DIR=~/lbw-store: (exit code, out, err)."""
    monkeypatch.setenv("LBW_STORE_DIR", str(home / "lbw-store"))
    monkeypatch.setenv("LBW_CORPUS_DIR", str(corpus_dir))
    monkeypatch.delenv("LBW_LIBRARY_DIR", raising=False)
    fake = HashingEmbedder()
    monkeypatch.setattr("assistant.embedding.embedder.load_default_embedder", lambda *_: fake)
    monkeypatch.setattr("assistant.service.load_query_embedder", lambda *_: fake)
    monkeypatch.setattr("assistant.embedding.onnx.ensure_export", lambda *_: None)

    def run(*args):
        code = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def tree(folder):
    """Every file under `folder` with its bytes (links as where they point)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            found[key] = ("link", os.readlink(path))
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


# -- 1. an existing folder is never the library, and nothing in it is ever deleted ----------
USER_FILES = {
    "board-plan.pdf": d.fact_pdf,
    "memo.docx": d.fact_docx,
    "newsletter.html": d.fact_html,
    "notes.md": d.fact_markdown,
    "todo.txt": lambda: b"Call the transport office about the late bus.\n",
    "budget.xlsx": lambda: b"PK\x03\x04 a spreadsheet",
}


def _default_library(home, monkeypatch):
    return home / "library"  # LBW_STORE_DIR=~/lbw-store puts the library at ~/library


def _named_library(home, monkeypatch):
    folder = home / "Documents"
    monkeypatch.setenv("LBW_LIBRARY_DIR", str(folder))
    return folder


def _foreign_manifest(home, monkeypatch):
    folder = _named_library(home, monkeypatch)
    folder.mkdir()
    (folder / "manifest.json").write_text('{"name": "my web app", "icons": []}')
    return folder


def _lbw_library_with_user_files(home, monkeypatch):
    """lbw's own library (marked, one document added), into which the user saved files."""
    folder = _named_library(home, monkeypatch)
    settings = Settings.from_env()
    hours = Source("hours.md", b"# Hours\n\nOpen at noon.\n")
    add_documents(settings, [hours], embedder=HashingEmbedder())
    assert (folder / MARKER).is_file()
    return folder


FOLDERS = {
    "the default ~/library beside the store": _default_library,
    "LBW_LIBRARY_DIR names an existing folder": _named_library,
    "a folder with its own manifest.json": _foreign_manifest,
    "lbw's library holding files its manifest never listed": _lbw_library_with_user_files,
}
COMMANDS = {
    "ingest": ("ingest",),
    "add": ("add", "{inbox}/new-plan.md"),
    "remove": ("remove", "hours-md"),
    "edit": ("edit", "hours-md", "--title", "Hours"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("folder", list(FOLDERS))
def test_an_existing_folder_is_refused_and_keeps_every_file(
    lbw, home, monkeypatch, folder, command
):
    library = FOLDERS[folder](home, monkeypatch)
    library.mkdir(exist_ok=True)
    for name, data in USER_FILES.items():
        (library / name).write_bytes(data())
    inbox = home / "inbox"
    inbox.mkdir()
    (inbox / "new-plan.md").write_text("# New plan\n\nPilot in two schools first.\n")
    before, build = tree(library), current_build_id(home / "lbw-store")

    code, out, err = lbw(*(a.format(inbox=inbox) for a in COMMANDS[command]))

    assert code == 4 and not out
    assert err.startswith("lbw: The library folder " + str(library)) and err.count("\n") == 1
    assert "not created by lbw" in err or "never listed" in err
    assert "board-plan.pdf" in err  # it names what it found
    assert tree(library) == before  # every file, byte for byte; nothing added either
    assert current_build_id(home / "lbw-store") == build


def test_a_new_library_folder_is_created_private_and_marked(lbw, home):
    note = home / "note.md"
    note.write_text("# Bus times\n\nThe late bus leaves at 4:40 pm.\n")
    code, out, err = lbw("add", note, "--quiet")
    assert code == 0, err
    library = home / "library"
    assert stat.S_IMODE(library.stat().st_mode) == 0o700
    assert (library / MARKER).is_file()
    stored = [p for p in library.iterdir() if p.suffix == ".md"]
    assert len(stored) == 1 and stat.S_IMODE(stored[0].stat().st_mode) == 0o600
    assert stored[0].read_bytes() == note.read_bytes()


# -- 2. links and other files that are not regular files ------------------------------------
def _ln_s(target, link):
    subprocess.run(["ln", "-s", str(target), str(link)], check=True)


def _link_outside(home):
    link = home / "inbox" / "x.txt"
    _ln_s(home / "secret" / "shadow", link)
    return link


def _link_to_link(home):
    first = _link_outside(home)
    link = home / "inbox" / "notes.md"
    _ln_s(first, link)
    return link


def _dangling(home):
    link = home / "inbox" / "gone.txt"
    _ln_s(home / "secret" / "removed", link)
    return link


def _folder(home):
    return home / "secret"


def _fifo(home):
    path = home / "inbox" / "pipe.txt"
    os.mkfifo(path)
    return path


LINKS = {
    "ln -s to a file outside": (_link_outside, "is a symbolic link"),
    "a link to that link": (_link_to_link, "is a symbolic link"),
    "a dangling link": (_dangling, "is a symbolic link"),
    "a folder": (_folder, "not a regular file"),
    "a named pipe": (_fifo, "not a regular file"),
    "a device": (lambda home: "/dev/zero", "not a regular file"),
}


@pytest.mark.parametrize("kind", list(LINKS))
def test_links_and_special_files_are_refused_unread(lbw, home, kind):
    (home / "secret").mkdir()
    (home / "secret" / "shadow").write_text(SECRET + "\n")
    (home / "inbox").mkdir()
    make, message = LINKS[kind]
    path = make(home)
    build = current_build_id(home / "lbw-store")

    code, out, err = lbw("add", path, "--quiet")

    assert code == 4 and not out
    assert err.startswith(f"lbw: {path} ") and message in err and err.count("\n") == 1
    assert current_build_id(home / "lbw-store") == build
    assert not (home / "library").exists()
    code, out, _ = lbw("retrieve", "SECRETHASH root salt", "--json")
    assert code == 0 and "SECRETHASH" not in json.dumps(json.loads(out)["passages"])
