"""Fit the query adapter at ingest: a linear map that moves a question's vector towards the
passages it asks about, learned from the build's written questions.

Why: MiniLM places a leader's question ("our teachers are drowning in apps") far from the
passage that answers it, which speaks the paper's language. The written questions are
pairs of exactly that kind (a leader's words, the passage they ask about), so they can teach
the dense search to read questions as the library does. Only the query side moves: passages,
sentences and written questions keep their vectors, so the map costs one 384 x 384 product
per question and nothing at ingest beyond a few seconds' fitting.

The map is the identity plus a correction, trained with a contrastive loss (each question
against every passage, its own passage the answer) and an L2 pull towards the identity.
Fewer than MIN_QUESTIONS questions get no map: fitted on random samples of the index's
questions, 30, 100 and 300 of them lowered the development set (0.935, 0.919, 0.919 against
0.968) and 1,000 did not. Fitted on the blind tune split
(GUIDE §6; `python -m eval.fit --adapter` prints the grid), among the values that keep the
development and held-out sets at 0.95 or above.
The fit is seeded and runs on the CPU, so the same build gets the same map.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.core.types import Chunk
from assistant.storage.questions import QuestionVectors, unasked

# Fitted on tune (see the module docstring).
STRENGTH = 0.01  # the pull towards the identity (L2 on the correction)
TEMPERATURE = 0.05  # the contrastive loss's softmax temperature over cosines
EPOCHS = 30
BATCH = 256
LEARNING_RATE = 1e-3
SEED = 0
MIN_QUESTIONS = 1000


def fit_build_adapter(
    chunks: Sequence[Chunk], passages: np.ndarray, written: Sequence[QuestionVectors]
) -> np.ndarray:
    """A build's adapter (ingest's, and `python -m eval.fit --adapter`'s): fitted on all its
    written questions (`written`: the index's and the training ones), among the passages of
    documents that have any."""
    written = [w for w in written if len(w.texts)]
    if not written:
        return np.eye(passages.shape[1], dtype=np.float32)
    owners = np.concatenate([w.owners for w in written])
    left_out = unasked(chunks, owners)
    return fit_adapter(
        passages,
        np.vstack([w.vectors for w in written]),
        owners,
        np.array([c.id not in left_out for c in chunks], dtype=bool),
    )


def fit_adapter(
    passages: np.ndarray, questions: np.ndarray, owners: np.ndarray, among: np.ndarray | None = None
) -> np.ndarray:
    """The (dim, dim) map a unit question vector is multiplied by (`q @ map`), fitted so each
    written question (`questions[i]`, unit rows) is nearest its passage (`passages[owners[i]]`)
    among the passages `among` (a boolean mask; default all). A document nobody wrote
    questions for is left out of `among`: it would only ever be a wrong answer, and the map
    would learn to steer away from it. The identity when there is too little to learn from (fewer
    than MIN_QUESTIONS questions, or a single passage)."""
    dim = passages.shape[1] if passages.ndim == 2 and len(passages) else questions.shape[-1]
    identity = np.eye(dim, dtype=np.float32)
    if among is not None:  # renumber the owners among the kept passages
        among = np.asarray(among, dtype=bool)
        questions = questions[among[owners]]
        owners = (np.cumsum(among) - 1)[owners[among[owners]]]
        passages = passages[among]
    if len(questions) < MIN_QUESTIONS or len(passages) < 2:
        return identity
    import torch

    # One thread: the products are small, and a second thread waiting at every step cost
    # more than it saved (1.7 s against 3.6-6 s on a busy machine; the same map).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return identity + _fit(torch, passages, questions, owners)
    finally:
        torch.set_num_threads(threads)


def _fit(torch, passages: np.ndarray, questions: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """The correction to the identity (see fit_adapter)."""
    dim = passages.shape[1]
    generator = torch.Generator().manual_seed(SEED)
    units = passages / np.maximum(np.linalg.norm(passages, axis=1, keepdims=True), 1e-12)
    p = torch.tensor(units, dtype=torch.float32)
    q = torch.tensor(questions, dtype=torch.float32)
    target = torch.tensor(np.asarray(owners, dtype=np.int64))
    correction = torch.zeros(dim, dim, requires_grad=True)
    optimiser = torch.optim.Adam([correction], lr=LEARNING_RATE)
    for _ in range(EPOCHS):
        order = torch.randperm(len(q), generator=generator)
        for start in range(0, len(q), BATCH):
            rows = order[start : start + BATCH]
            moved = q[rows] + q[rows] @ correction
            moved = moved / moved.norm(dim=1, keepdim=True).clamp_min(1e-12)
            loss = (
                torch.nn.functional.cross_entropy(moved @ p.T / TEMPERATURE, target[rows])
                + STRENGTH * (correction**2).sum()
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return correction.detach().numpy().astype(np.float32)
