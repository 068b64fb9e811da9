"""A bounded load driver: many askers at once through the `assistant` API.

Used by the load tests (and printable from `pytest -s`): `run_load` sends `total` questions
from `workers` threads to one shared Assistant, checks every answer, and reports latency.
"""

from __future__ import annotations

import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from assistant.core.types import Answer
from assistant.service import Assistant

# Questions leaders ask, with and without a previous turn; every one is in the library.
QUESTIONS: list[tuple[str, list[dict]]] = [
    ("How fast should a district move from pilot to scale?", []),
    ("What should the district hold tight vs. loose?", []),
    ("How did others handle need vs readiness?", []),
    ("Should we buy or build the capacity we need?", []),
    ("How flexible should our strategy be over time?", []),
    ("Comprehensive model or modular tools?", []),
    ("Should we share best practices or our failures?", []),
    ("What did Fulton County do?", []),
    ("What does the survey say about pace?", []),
    ("What are the six areas of change in the roadmap?", []),
    ("How do you know a practice is ready to scale?", []),
    ("What makes an environment for innovation?", []),
    ("What reflection questions help a team decide where to pilot?", []),
    ("Which districts centralized decisions?", []),
    (
        "What did they do next?",
        [
            {"role": "user", "content": "How did Dallas ISD pilot personalized learning?"},
            {"role": "assistant", "content": "Dallas ISD ran pilots in ready schools [1]."},
        ],
    ),
    (
        "And the other side?",
        [
            {"role": "user", "content": "Why would a district prioritize need?"},
            {"role": "assistant", "content": "Some districts started where need was highest."},
        ],
    ),
]


@dataclass
class LoadReport:
    total: int
    workers: int
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    builds: set[str] = field(default_factory=set)

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(round(p / 100 * (len(data) - 1))))]

    def summary(self, label: str) -> str:
        return (
            f"[load] {label}: {self.total} questions, {self.workers} workers, "
            f"{len(self.errors)} errors, p50 {self.percentile(50):.1f} ms, "
            f"p95 {self.percentile(95):.1f} ms, mean {statistics.fmean(self.latencies_ms):.1f} ms, "
            f"{self.total / self.seconds:.0f} questions/s"
        )


def check_answer(bot: Assistant, answer: Answer, reference: Answer | None = None) -> None:
    """A complete answer: in scope, every [n] cited, every citation verbatim in its document,
    and (given a reference answered alone) the very same answer."""
    if not answer.in_scope or not answer.citations:
        raise AssertionError(f"no cited answer to {answer.question!r}")
    # Every citation is marked in the answer or in its "More from the library" layout.
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer + answer.more)}
    if markers != {c.n for c in answer.citations}:
        raise AssertionError(f"markers {markers} do not match citations for {answer.question!r}")
    for c in answer.citations:
        if c.text not in bot.document_text(c.doc_id):
            raise AssertionError(f"citation {c.id} is not verbatim in {c.doc_id}")
    if reference is not None and (
        answer.answer != reference.answer
        or [c.id for c in answer.citations] != [c.id for c in reference.citations]
    ):
        raise AssertionError(f"under load the answer to {answer.question!r} changed")


def references(bot: Assistant) -> list[Answer]:
    """Each question answered alone, before any load."""
    return [bot.ask(q, h) for q, h in QUESTIONS]


def run_load(bot: Assistant, total: int = 1000, workers: int = 20) -> LoadReport:
    report = LoadReport(total, workers)
    expected = references(bot)

    def one(i: int) -> float:
        question, history = QUESTIONS[i % len(QUESTIONS)]
        started = time.perf_counter()
        answer = bot.ask(question, history)
        ms = (time.perf_counter() - started) * 1000
        check_answer(bot, answer, expected[i % len(QUESTIONS)])
        report.builds.add(bot.index.build_id)
        return ms

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(one, i) for i in range(total)]
        for f in futures:
            try:
                report.latencies_ms.append(f.result())
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                report.errors.append(f"{type(exc).__name__}: {exc}")
    report.seconds = time.perf_counter() - started
    return report
