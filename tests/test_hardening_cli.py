"""Issue 17, items 5, 6, 8 and 9: each attack from the outside review is a test case.

One parametrized test per class of attack; the attack is the input. Every case expects a
message on stderr and the documented exit code (2 bad input, 3 no usable index, 4 ingest),
never a traceback, and where the store was damaged, that `lbw ingest` repairs it.
The server tests start `chroma run` on 127.0.0.1 (tests.servers), as tests/test_store.py does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import cli
from assistant.core.settings import Settings
from assistant.core.text import split_sentences
from assistant.llm import LLMComposer
from assistant.service import Assistant
from tests.fakes import FakeChatModel, HashingEmbedder, prompt_passages

# Attacks: a Chroma server stopped mid-run, damaged and read-only stores.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How do districts decide where to pilot?"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def store_copy(store, tmp_path) -> Path:
    """A private copy of the shared test index (HashingEmbedder vectors), free to damage."""
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    return copy


@pytest.fixture
def lbw_on(monkeypatch, capsys, corpus_dir) -> Callable[[Path], Run]:
    """`lbw ARGS...` in process on a given store: (exit code, stdout, stderr). Argument
    errors (argparse's SystemExit) count as exits; the model is the HashingEmbedder."""
    fake = HashingEmbedder()
    monkeypatch.setattr("assistant.service.load_query_embedder", lambda *_: fake)
    monkeypatch.setattr("assistant.embedding.embedder.load_default_embedder", lambda *_: fake)
    monkeypatch.setattr("assistant.embedding.onnx.ensure_export", lambda *_: None)
    monkeypatch.setenv("LBW_CORPUS_DIR", str(corpus_dir))
    for name in ("LBW_CHROMA_HOST", "LBW_CHROMA_PORT", "LBW_TOP_K", "LBW_LIBRARY_DIR"):
        monkeypatch.delenv(name, raising=False)

    def on(store: Path) -> Run:
        monkeypatch.setenv("LBW_STORE_DIR", str(store))

        def run(*args) -> tuple[int, str, str]:
            try:
                code = cli.main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            out, err = capsys.readouterr()
            assert "Traceback" not in err
            return code, out, err

        return run

    return on


@pytest.fixture
def lbw(lbw_on, store_copy) -> Run:
    return lbw_on(store_copy)


# -- 8, 9: settings that make no sense are refused, naming the variable and the range -------
@pytest.mark.parametrize(
    "variable, value, accepted",
    [
        ("LBW_TOP_K", "abc", "whole number from 1 to 1,000"),
        ("LBW_TOP_K", "0", "whole number from 1 to 1,000"),
        ("LBW_TOP_K", "-3", "whole number from 1 to 1,000"),
        ("LBW_MAX_QUESTION_CHARS", "abc", "whole number from 1 to 100,000"),
        ("LBW_CHROMA_PORT", "abc", "whole number from 1 to 65,535"),
        ("LBW_CHROMA_PORT", "70000", "whole number from 1 to 65,535"),
        ("LBW_LLM_TIMEOUT", "abc", "above 0 and at most 3,600"),
        ("LBW_LLM_TIMEOUT", "inf", "above 0 and at most 3,600"),
        ("LBW_MAX_FILE_MB", "nan", "above 0 and at most 10,000"),
        ("LBW_MAX_FILE_MB", "inf", "above 0 and at most 10,000"),
        ("LBW_MAX_FILE_MB", "-1", "above 0 and at most 10,000"),
        ("LBW_MAX_FILE_MB", "0", "above 0 and at most 10,000"),
        ("LBW_LLM_TEMPERATURE", "nan", "from 0 to 2"),
        ("LBW_MAX_ANSWER_CHARS", "12", "whole number from 100 to 1,000,000"),
        ("LBW_STORE_DIR", "{file}", "is a file, not a folder"),
        ("LBW_LIBRARY_DIR", "{file}", "is a file, not a folder"),
    ],
)
@pytest.mark.parametrize("command", [("ask", QUESTION, "--json"), ("ingest", "--quiet")])
def test_nonsense_settings_are_refused_with_the_variable_and_range(
    lbw, monkeypatch, tmp_path, variable, value, accepted, command
):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    monkeypatch.setenv(variable, value.format(file=a_file))
    code, out, err = lbw(*command)
    assert code == 2 and out == ""
    assert variable in err and accepted in err
    assert a_file.read_text() == "not a folder"


# -- 8, 9: bad input on the command line ---------------------------------------------------------
def _deep(tmp: Path) -> Path:
    path = tmp / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def _file(name: str, text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


SURROGATE_HISTORY = _file("h.json", '[{"role": "user", "content": "pilots \\ud800 here"}]')
SURROGATE_BATCH = _file("b.jsonl", '{"question": "pilots"}\n{"question": "what \\udc80 pilots"}\n')
EMPTY_QUESTION_BATCH = _file("e.jsonl", '{"question": "pilots"}\n\n{"question": "  "}\n')
BAD_HISTORY_BATCH = _file("c.jsonl", '{"question": "pilots", "history": [{"role": "robot"}]}\n')


@pytest.mark.parametrize(
    "args, code, message",
    [
        # A question typed in a terminal that is not UTF-8: Python keeps the byte 0xFF as
        # the lone surrogate U+DCFF (os.fsdecode does what argv decoding does).
        (("ask", os.fsdecode(b"need or \xff readiness?"), "--json"), 2, "byte 0xFF"),
        (("retrieve", os.fsdecode(b"caf\xe9 pilots"), "--json"), 2, "not valid UTF-8"),
        (("ask", "And then?", "--history", SURROGATE_HISTORY), 2, "lone surrogate U+D800"),
        (("ask", "--batch", SURROGATE_BATCH, "--json"), 2, "Line 2 of"),
        (("retrieve", "--batch", SURROGATE_BATCH, "--jsonl"), 2, "lone surrogate U+DC80"),
        (("ask", "And then?", "--history", "{tmp}"), 2, "is a folder"),
        (("ask", "And then?", "--history", _deep), 2, "nested too deeply"),
        (("ask", "And then?", "--history", "/dev/zero"), 2, "is not a regular file"),
        (("ask", "--batch", "{tmp}", "--json"), 2, "is a folder"),
        (("ask", "--batch", EMPTY_QUESTION_BATCH, "--json"), 2, "Line 3 of"),
        (("retrieve", "--batch", EMPTY_QUESTION_BATCH, "--json"), 2, "question is empty"),
        (("ask", "--batch", BAD_HISTORY_BATCH, "--json"), 2, "Line 1 of"),
        (("retrieve", "pilots", "-k", "0", "--json"), 2, "whole number from 1 to 1,000"),
        (("retrieve", "pilots", "-k", "-1", "--json"), 2, "whole number from 1 to 1,000"),
        (("retrieve", "pilots", "-k", "abc", "--json"), 2, "argument -k"),
        (("ask", "pilots", "--jsonl"), 2, "--jsonl goes with --batch"),
    ],
)
def test_bad_input_gets_a_message_and_exit_2(lbw, tmp_path, capsys, args, code, message):
    args = [a(tmp_path) if callable(a) else str(a).format(tmp=tmp_path) for a in args]
    started = time.monotonic()
    got, out, err = lbw(*args)
    assert (got, out) == (code, "") and message in err, err
    assert time.monotonic() - started < 20  # /dev/zero is read up to the limit, not forever


# -- 5, 8: a damaged or moved index says what to run, and `lbw ingest` repairs it ----------------
def _build(store: Path) -> Path:
    return next(p for p in (store / "builds").iterdir() if (p / "meta.json").is_file())


def _truncate(name: str) -> Callable[[Path], None]:
    def damage(store: Path) -> None:
        path = _build(store) / name
        path.write_bytes(path.read_bytes()[:100])

    return damage


def _truncate_chroma(store: Path) -> None:
    for path in (_build(store) / "chroma").rglob("*"):
        if path.is_file():
            path.write_bytes(path.read_bytes()[:1000])


def _pointer_bytes(store: Path) -> None:
    (store / "CURRENT").write_bytes(b"\xff\xfe\x00 not utf-8")


@pytest.mark.parametrize(
    "damage, message, reembedded",
    [
        (_pointer_bytes, "index pointer", False),
        (lambda s: (s / "CURRENT").write_text("../../elsewhere\n"), "index pointer", False),
        (_truncate("chunks.jsonl"), "damaged (chunks.jsonl", True),
        (_truncate("documents.json"), "damaged (documents.json", False),
        (_truncate("meta.json"), "damaged (meta.json", True),
        (_truncate("catalog.json"), "damaged (catalog.json", False),
        (lambda s: shutil.rmtree(_build(s) / "chroma"), "vectors are missing", False),
        (_truncate_chroma, "cannot be used", False),
        (_truncate("chroma/chroma.sqlite3"), "cannot be used", False),
    ],
)
def test_damaged_index_is_reported_and_ingest_repairs_it(
    lbw, store_copy, damage, message, reembedded
):
    damage(store_copy)
    code, out, err = lbw("ask", QUESTION, "--json")
    assert (code, out) == (3, "") and message in err and "lbw ingest" in err, err

    code, out, err = lbw("ingest", "--json", "--quiet")
    assert code == 0, err
    report = json.loads(out)
    assert report["changed"] is True
    # Whole vectors on disk are reused: no passage is embedded again unless the passages or
    # the record of the model that embedded them were lost.
    assert (report["embedded"] > 0) is reembedded, report

    code, out, err = lbw("ask", QUESTION, "--json")
    assert code == 0 and json.loads(out)["citations"], err
    assert lbw("ingest", "--json", "--quiet")[1].count('"changed": false') == 1


def test_a_sentence_repair_says_what_it_embedded(lbw, store_copy):
    """Only the sentences are embedded again, and the summary line says so (a bare "0
    embedded" would read as if nothing had been repaired)."""
    _truncate("sentences.npz")(store_copy)
    code, out, err = lbw("ask", QUESTION, "--json")
    assert code == 3 and "sentences.npz" in err and "lbw ingest" in err, err
    code, out, err = lbw("ingest", "--quiet")
    assert code == 0, err
    found = re.search(r"(\d+) embedded, (\d+) reused, (\d+) sentences embedded", out)
    assert found, out
    embedded, reused, sentences = map(int, found.groups())
    assert embedded == 0 and reused > 150 and sentences > 1000


def test_ingest_rebuild_writes_over_a_damaged_pointer(lbw, store_copy):
    _pointer_bytes(store_copy)
    code, _, err = lbw("ingest", "--rebuild", "--quiet")
    assert code == 0, err
    assert lbw("retrieve", QUESTION, "--json")[0] == 0


def _without_write_permission() -> list[str]:
    """A command prefix under which the store's permissions hold: as root, drop the
    capabilities that let root write anywhere."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be simulated")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.mark.parametrize(
    "args, code, expected",
    [
        (("ask", QUESTION, "--json"), 0, '"citations"'),
        (("retrieve", QUESTION, "--json"), 0, '"passages"'),
        (("ingest", "--quiet"), 4, "Cannot write to the index folder"),
    ],
)
def test_read_only_store_still_answers(store_copy, corpus_dir, args, code, expected):
    """A store the user cannot write (a shared, read-only copy): questions are answered from
    it, and ingest says it cannot write, without a traceback."""
    for path in [store_copy, *store_copy.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    script = (
        "import sys; import assistant.service as s; from tests.fakes import HashingEmbedder;"
        "s.load_query_embedder = lambda *a: HashingEmbedder(); from assistant import cli;"
        "sys.exit(cli.main(sys.argv[1:]))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LBW_STORE_DIR": str(store_copy),
        "LBW_CORPUS_DIR": str(corpus_dir),
        "LBW_ENV_FILE": os.devnull,
        "ANONYMIZED_TELEMETRY": "False",
    }
    env.pop("LBW_CHROMA_HOST", None)
    try:
        done = subprocess.run(
            [*_without_write_permission(), sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        for path in [store_copy, *store_copy.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert done.returncode == code, done.stderr
    assert expected in (done.stdout if code == 0 else done.stderr)
    assert "Traceback" not in done.stderr


def test_moving_to_a_chroma_server_and_back_reuses_the_stored_vectors(
    lbw, chroma_server, monkeypatch
):
    """Embedded → server → embedded: each move is detected by `lbw ask` (exit 3, what to run),
    and `lbw ingest` copies the build's stored vectors into the new place without a model."""
    for place in ("server", "embedded"):
        if place == "server":
            for name, value in chroma_server.env.items():
                monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv("LBW_CHROMA_HOST")
            monkeypatch.delenv("LBW_CHROMA_PORT")
        code, out, err = lbw("ask", QUESTION, "--json")
        assert (code, out) == (3, "") and "lbw ingest" in err, err
        assert ("Chroma server at" in err) and ("embedded store" in err)

        code, out, err = lbw("ingest", "--json", "--quiet")
        report = json.loads(out)
        assert code == 0 and report["changed"] and report["embedded"] == 0, err
        assert report["reused"] == report["chunks"] and "vectors are in" in report["note"]

        code, out, err = lbw("ask", QUESTION, "--json")
        assert code == 0 and json.loads(out)["citations"], err
        assert json.loads(lbw("ingest", "--json", "--quiet")[1])["changed"] is False


# -- 6: a Chroma server stopped mid-batch: finished results are kept -------------------------
@pytest.mark.parametrize("command, output", [("retrieve", "--jsonl"), ("ask", "--json")])
def test_server_stopped_mid_batch_keeps_the_finished_results(
    lbw, monkeypatch, tmp_path, command, output
):
    from tests.servers import chroma_server

    questions = [QUESTION, "What did Fulton do?", "How fast should a district scale?"] * 10
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps({"question": q}) + "\n" for q in questions))
    done_before_kill = 4
    with chroma_server(tmp_path / "chroma-data") as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        assert lbw("ingest", "--quiet")[0] == 0  # the vectors move to this server

        # The attack: the server process is killed once `done_before_kill` questions are done.
        seen = {"n": 0}
        real = getattr(Assistant, command)

        def then_kill(self, *args, **kwargs):
            if seen["n"] == done_before_kill:
                server.proc.kill()
                server.proc.wait(30)
            seen["n"] += 1
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Assistant, command, then_kill)
        started = time.monotonic()
        code, out, err = lbw(command, "--batch", batch, output)
        assert time.monotonic() - started < 60
        # With the server gone, a new `lbw ask` says so (the wrapper above only kills once).
        code_after, out_after, err_after = lbw("ask", QUESTION, "--json")
        assert (code_after, out_after) == (3, "") and "cannot be reached" in err_after
    results = (
        [json.loads(line) for line in out.splitlines()]
        if output == "--jsonl"
        else json.loads(out)["results"]
    )
    assert code == 3 and "failed" in err and "Chroma server" in err
    assert [r["question"] for r in results] == questions  # one per line, in order
    finished = results[:done_before_kill]
    assert all("error" not in r and r["ms"] > 0 for r in finished)
    assert all(r["passages" if command == "retrieve" else "citations"] for r in finished)
    failed = results[done_before_kill:]
    assert all(r["error"] and r["line"] for r in failed)
    assert sum("not run" in r["error"] for r in failed) == len(failed) - 10


# -- 9: a CRLF re-save of a bundled document is the same document -------------------------------
@pytest.mark.parametrize(
    "resave",
    [
        lambda b: b.replace(b"\n", b"\r\n"),
        lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n"),
        lambda b: b.replace(b"\n", b"\r\n").rstrip(b"\r\n"),
        lambda b: b.replace(b"\n", b"\r"),
    ],
    ids=["crlf", "bom+crlf", "crlf-no-final-newline", "cr"],
)
def test_a_resaved_bundled_document_is_refused_as_a_duplicate(
    lbw, store_copy, corpus_dir, tmp_path, resave
):
    copy = tmp_path / "inbox" / "scale-what-windows.txt"
    copy.parent.mkdir()
    copy.write_bytes(resave((corpus_dir / "scale-what.txt").read_bytes()))
    before = sorted(p.name for p in (store_copy / "builds").iterdir())
    code, out, err = lbw("add", copy, "--json")
    assert (code, out) == (4, "") and "already in the library" in err and "scale-what" in err
    assert sorted(p.name for p in (store_copy / "builds").iterdir()) == before


# -- 9: a language model that ignores its token limit ----------------------------------------------
@pytest.mark.parametrize("limit", [500, 8000])
@pytest.mark.parametrize("streamed", [True, False])
def test_a_model_answer_is_cut_at_the_length_limit(bot, limit, streamed):
    """The model streams a supported sentence 20,000 times (about 2 MB); the answer is cut."""

    def endless(messages) -> str:
        sentence = next(
            s
            for s in split_sentences(prompt_passages(messages)[1])
            if len(s.split()) >= 8 and s.endswith(".") and not re.search(r"[“”\"]", s)
        )
        return f"{sentence} [1] " * 20_000

    model = FakeChatModel(replies=[endless], piece=4096)
    composer = LLMComposer(model, "fake:endless", timeout=30, max_answer_chars=limit)
    if streamed:
        stream = bot.ask_stream(QUESTION, composer=composer)
        shown = "".join(stream)
        answer = stream.result()
        assert len(shown.rstrip()) <= limit
    else:
        answer = bot.ask(QUESTION, composer=composer)
    assert answer.answered_by == "llm" and answer.citations
    assert 0 < len(answer.answer) <= limit


def test_the_answer_limit_is_a_setting():
    assert Settings().max_answer_chars == 8000
    settings = Settings.from_env({"LBW_MAX_ANSWER_CHARS": "1500"})
    assert settings.max_answer_chars == 1500
