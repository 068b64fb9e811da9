"""all-mpnet-base-v2 from the `mpnet` extra, for real: unpacked from the five PyPI parts,
checked, loaded offline. Skipped (with the reason) where the extra is not installed."""

from __future__ import annotations

import importlib.metadata
import os

import numpy as np
import pytest

from assistant.core.settings import Settings
from assistant.embedding import mpnet


def _extra_installed() -> bool:
    try:
        for name in mpnet.PARTS:
            importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


# `make test` installs the extra (it is part of `dev`), so CI never skips these.
_SKIP = not _extra_installed() and not os.environ.get("CI")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(_SKIP, reason=f"the mpnet extra is not installed ({mpnet.INSTALL})"),
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


def test_the_parts_unpack_to_the_checked_model_and_it_embeds_offline(models_dir, monkeypatch):
    from assistant.embedding.choice import load_embedder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = mpnet.ensure_mpnet(models_dir)
    assert (folder / "modules.json").is_file() and (folder / "1_Pooling").is_dir()
    embedder = load_embedder(Settings(store_dir=models_dir.parent / "store", embedder="mpnet"))
    assert isinstance(embedder, mpnet.MPNetEmbedder)
    vectors = embedder.embed_batch(
        [
            "How fast should we go from pilot to scale?",
            "Moving from a pilot to district-wide scale quickly or slowly",
            "The survey's median answer for resource allocation",
        ]
    )
    assert vectors.shape == (3, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
