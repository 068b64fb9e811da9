"""The same all-MiniLM-L6-v2, run through onnxruntime for questions.

Why: importing torch and sentence-transformers takes about 7 of the 10 seconds a new
process may spend before its first answer, while a question needs one forward pass of a
22M-parameter model. So the model (already sha256-checked) is exported once to ONNX, with
mean pooling and normalisation inside the graph, checked against sentence-transformers on
probe texts (cosine ≥ 0.9999), and cached beside the index. Questions then need only
onnxruntime and tokenizers (a fraction of a second to import). Passages are still embedded
by sentence-transformers at ingest, where torch is loaded anyway and batches are large.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.core.errors import ModelError
from assistant.embedding.embedder import (
    MINILM_SHA256,
    Embedder,
    MiniLMEmbedder,
    bundled_model_path,
    load_default_embedder,
    sha256_of,
    verify_weights,
)
from assistant.storage.private import private_dir

log = logging.getLogger("lbw.embedder")

OPSET = 17
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
MIN_COSINE = 0.9999
PROBES = (
    "What did Fulton do?",
    "We have a tiny central team, how do we pick which schools get help first?",
    "Prioritize Need vs. Prioritize Readiness — Why Combine Approaches? " * 12,
)


def export_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"all-MiniLM-L6-v2-{MINILM_SHA256[:12]}.onnx"


class OnnxMiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 from an ONNX export made by `export_onnx` (checked on load)."""

    model_id = "sentence-transformers/all-MiniLM-L6-v2"
    relevance_floor = MiniLMEmbedder.relevance_floor  # the same model, the same calibration
    question_floor = MiniLMEmbedder.question_floor
    confident_margin = MiniLMEmbedder.confident_margin

    def __init__(
        self,
        onnx_file: Path,
        model_dir: Path | None = None,
        batch_size: int = 32,
        verify: bool = True,
    ):
        import onnxruntime
        from tokenizers import Tokenizer

        onnx_file = Path(onnx_file)
        if verify:  # False only right after ensure_export checked this very file
            _check_export(onnx_file)
        model_dir = Path(model_dir) if model_dir else bundled_model_path()
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Its threads would spin after each question, starving the Chroma and numpy work
        # that follows on the same few cores (a 0.03 ms sentence product took 7 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.batch_size = batch_size

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        out = []
        for start in range(0, len(texts), self.batch_size):
            encoded = self._tokenizer.encode_batch(list(texts[start : start + self.batch_size]))
            feeds = {
                name: np.array([getattr(e, attr) for e in encoded], dtype=np.int64)
                for name, attr in (
                    ("input_ids", "ids"),
                    ("attention_mask", "attention_mask"),
                    ("token_type_ids", "type_ids"),
                )
            }
            out.append(self._session.run(None, feeds)[0])
        return np.concatenate(out).astype(np.float32, copy=False)


def _sidecar(onnx_file: Path) -> Path:
    return onnx_file.with_suffix(".json")


def _check_export(onnx_file: Path) -> None:
    """Refuse an export that is missing, altered, or made from other weights."""
    try:
        meta = json.loads(_sidecar(onnx_file).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"No usable ONNX export at {onnx_file}: {exc}") from exc
    if meta.get("source_sha256") != MINILM_SHA256:
        raise ModelError(f"The ONNX export at {onnx_file} was made from other weights.")
    if not onnx_file.is_file() or sha256_of(onnx_file) != meta.get("onnx_sha256"):
        raise ModelError(f"The ONNX export at {onnx_file} is missing or altered.")


def export_onnx(cache_dir: Path, model_dir: Path | None = None) -> Path:
    """Export the checked MiniLM weights to ONNX in `cache_dir` (atomically) and return it.

    Needs torch and the `onnx` package; takes a few seconds, once per machine and model.
    """
    model_dir = Path(model_dir) if model_dir else bundled_model_path()
    verify_weights(model_dir)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        """The transformer plus sentence-transformers' mean pooling and normalisation."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    cache_dir = private_dir(Path(cache_dir))  # the store's models folder: the owner's alone
    target = export_path(cache_dir)
    model = Pooled(AutoModel.from_pretrained(str(model_dir)).eval())
    dummy = torch.ones((2, 8), dtype=torch.int64)
    axes = {"batch": 0, "tokens": 1}
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        tmp_file = Path(tmp) / target.name
        # The tracer's warnings concern shapes fixed at trace time; the probe check below
        # (texts of different lengths, padded together) is what shows the export is right.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (dummy, dummy, torch.zeros_like(dummy)),
                str(tmp_file),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {v: k for k, v in axes.items()},
                    "attention_mask": {v: k for k, v in axes.items()},
                    "token_type_ids": {v: k for k, v in axes.items()},
                    "embedding": {0: "batch"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
        meta = {
            "source_sha256": MINILM_SHA256,
            "onnx_sha256": sha256_of(tmp_file),
            "opset": OPSET,
            "torch": torch.__version__,
        }
        _sidecar(tmp_file).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        cosine = _agreement(OnnxMiniLMEmbedder(tmp_file, model_dir), MiniLMEmbedder(model_dir))
        if cosine < MIN_COSINE:
            raise ModelError(f"The ONNX export disagrees with the model (cosine {cosine:.6f}).")
        os.replace(_sidecar(tmp_file), _sidecar(target))
        os.replace(tmp_file, target)
    log.info("Exported the embedding model to %s (cosine %.7f)", target, cosine)
    return target


def _agreement(a: Embedder, b: Embedder) -> float:
    """The lowest cosine between the two embedders' vectors for the probe texts."""
    return float(np.min(np.sum(a.embed_batch(PROBES) * b.embed_batch(PROBES), axis=1)))


def ensure_export(cache_dir: Path, model_dir: Path | None = None) -> Path | None:
    """Make the ONNX export if there is no valid one; None (and a warning) if it cannot be."""
    target = export_path(cache_dir)
    try:
        _check_export(target)
        return target
    except ModelError:
        pass
    try:
        return export_onnx(cache_dir, model_dir)
    except Exception as exc:  # noqa: BLE001 - questions fall back to sentence-transformers
        log.warning("Could not export the embedding model to ONNX: %s", exc)
        return None


def load_query_embedder(cache_dir: Path, model_dir: Path | None = None) -> Embedder:
    """The fast question embedder: the cached ONNX export, made first if needed.

    Falls back to sentence-transformers (slower to start, same vectors) when the export
    cannot be made or read, so answering never depends on it.
    """
    target = ensure_export(cache_dir, model_dir)  # checked, or made and checked; None: failed
    if target is not None:
        try:
            return OnnxMiniLMEmbedder(target, model_dir, verify=False)
        except Exception as exc:  # noqa: BLE001 - an export that cannot be read: same remedy
            log.warning("Using sentence-transformers for questions (no ONNX export: %s)", exc)
    return load_default_embedder(model_dir)
