"""The embedder the settings choose (LBW_EMBEDDER): one place that maps the setting to a
model, for ingest (`load_embedder`) and for questions (`load_query_embedder`).

minilm is the bundled default; its questions go through the ONNX export (fast start).
mpnet comes from the optional `mpnet` extra and runs through sentence-transformers for both.
`model_id_for` names the model without loading it, so ingest can tell that a build was made
by another embedder before it loads anything.
"""

from __future__ import annotations

import threading

from assistant.core.settings import Settings
from assistant.embedding import embedder as bundled
from assistant.embedding.embedder import Embedder, MiniLMEmbedder
from assistant.embedding.mpnet import MPNetEmbedder

MODEL_IDS = {"minilm": MiniLMEmbedder.model_id, "mpnet": MPNetEmbedder.model_id}

_LOADED: dict[str, Embedder] = {}
_LOCK = threading.Lock()


def model_id_for(settings: Settings) -> str:
    """The model id a build made with these settings records (meta.json's `model_id`)."""
    return MODEL_IDS[settings.embedder]


def load_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder the settings choose, for passages (loaded once)."""
    if settings.embedder == "minilm":
        return bundled.load_default_embedder(settings.model_path, settings.embed_workers)
    key = str(settings.models_dir)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = MPNetEmbedder(settings.models_dir, workers=settings.embed_workers)
        return _LOADED[key]


def load_query_embedder(settings: Settings) -> Embedder:
    """The embedder for questions: MiniLM through its ONNX export, mpnet as for passages."""
    if settings.embedder == "minilm":
        from assistant.embedding.onnx import load_query_embedder as onnx_query_embedder

        return onnx_query_embedder(settings.models_dir, settings.model_path)
    return load_embedder(settings)
