"""Scoring retrieval and answers on question sets, next to the stock LangChain recipe.

Trade-offs, stated once:
- Evidence matching is on `normalize`d text (lower-case ASCII letters and digits only), so
  mojibake, curly quotes, markup, line breaks and table pipes never decide a hit; the price is
  that a very short evidence string could match by accident, so evidence should be a phrase.
- A question counts as a retrieval hit only when *every* evidence string sits inside one
  retrieved passage: evidence split across two chunks is a miss, because a reader would not
  see it whole.
- School systems are "named" when one of their aliases (assistant.core.domain.SYSTEMS) occurs as
  a whole word. One-word aliases and acronyms must match as written ("grass roots" is not Roots
  Elementary, "space" is not ACE); longer names ignore case.
- An answer's scope is `answer.to_dict()["scope"]` when the Answer reports one, else its
  `in_scope` (True: "answered", False: "not_in_library"), so a partial answer can only be
  recognised once the Answer says so.
- The stock recipe runs in the same process with the same embedder instance, so the comparison
  measures chunking and retrieval, not the model. It has no answers, only retrieval figures.
- `run_sets` loads the model, the index and the stock recipe once for all sets; each question
  is retrieved and answered once per run, and `--pairs` reuses those results (a `--baseline`
  file is read and matched before the model loads, so a bad one fails at once).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.core.errors import LbwError
from assistant.core.settings import Settings
from assistant.core.types import Answer, Passage, Turn
from assistant.embedding.embedder import Embedder
from eval.questions import (
    SCOPES,
    SPLITS,
    EvalQuestion,
    QuestionSetError,
    describe,
    doc_group_key,
    kind_key,
    load_questions,
    load_set,
    normalize,
    system_patterns,
)

RetrieveFn = Callable[..., Sequence[Passage]]  # (question, history, k=) -> passages
AskFn = Callable[..., Answer]  # (question, history) -> answer

# The figures the tune-test gap is reported for: (label, path into one set's report).
HEADLINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("evidence in top k (ours)", ("ours", "hit_rate")),
    ("evidence in top k (stock)", ("stock", "hit_rate")),
    ("district recall (retrieval)", ("ours", "district", "recall")),
    ("in-library refused", ("answers", "in_scope_refused_rate")),
    ("off-library declined", ("answers", "out_of_scope_rate")),
    ("partial labelled partial", ("answers", "partial_rate")),
    ("evidence cited in answer", ("answers", "cited_any_rate")),
)

__all__ = [
    "EvalQuestion",
    "QuestionSetError",
    "StockRecipe",
    "answer_scope",
    "evaluate",
    "evaluate_answers",
    "evidence_hit",
    "load_questions",
    "normalize",
    "run_eval",
    "run_sets",
    "systems_named",
]


class MissingExtra(LbwError):
    """An optional dependency group is not installed; the message names the extra."""

    exit_code = 2


# ---------------------------------------------------------------------------- matching


def evidence_hit(evidence: Sequence[str], passages: Sequence[str]) -> bool:
    """True when every evidence string lies (normalised) inside at least one passage."""
    if not evidence:
        raise ValueError("evidence_hit needs at least one evidence string")
    texts = [normalize(p) for p in passages]
    return all(any(normalize(e) in t for t in texts) for e in evidence)


def evidence_any(evidence: Sequence[str], passages: Sequence[str]) -> bool:
    """True when at least one evidence string lies (normalised) inside some passage."""
    texts = [normalize(p) for p in passages]
    return any(normalize(e) in t for e in evidence for t in texts)


def systems_named(systems: Sequence[str], texts: Sequence[str]) -> list[str]:
    """The required systems (canonical names) that some text names by name or alias."""
    joined = "\n".join(texts)
    return [s for s in systems if any(p.search(joined) for p in system_patterns(s))]


def answer_scope(answer: Answer) -> str:
    """The scope an answer declares: its "scope" field when it has one, else from in_scope."""
    scope = answer.to_dict().get("scope")
    if scope in SCOPES:
        return scope
    return "answered" if answer.in_scope else "not_in_library"


# ---------------------------------------------------------------------------- scoring


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _groups(tally: dict[str, list[int]], order: Callable[[Any], Any]) -> dict[str, Any]:
    return {
        name: {"hits": h, "n": n, "hit_rate": _rate(h, n)}
        for name, (h, n) in sorted(tally.items(), key=lambda kv: order(kv[0]))
    }


def _district_recall(rows: list[tuple[EvalQuestion, list[str]]]) -> dict[str, Any]:
    required = found = 0
    missing: dict[str, list[str]] = {}
    for q, texts in rows:
        if not q.systems:
            continue
        named = systems_named(q.systems, texts)
        required += len(q.systems)
        found += len(named)
        if len(named) < len(q.systems):
            missing[q.id] = [s for s in q.systems if s not in named]
    return {
        "recall": _rate(found, required),
        "found": found,
        "required": required,
        "missing": missing,
    }


def evaluate(
    retrieve_fn: RetrieveFn, questions: Sequence[EvalQuestion], k: int = 8
) -> dict[str, Any]:
    """Evidence hit rate (overall, per kind, per doc group) and district recall of a top k.

    `retrieve_fn(question, history, k=k)` returns passages with a `.text`; questions without
    evidence (off-library) are asked too but only count towards district recall if they
    name systems.
    """
    by_kind: dict[str, list[int]] = {}
    by_group: dict[str, list[int]] = {}
    misses: list[str] = []
    rows: list[tuple[EvalQuestion, list[str]]] = []
    for q in questions:
        texts = [p.text for p in retrieve_fn(q.question, q.history, k=k)]
        rows.append((q, texts))
        if not q.evidence:
            continue
        hit = evidence_hit(q.evidence, texts)
        for tally, key in ((by_kind, q.kind), (by_group, q.doc_group)):
            if key is not None:
                tally.setdefault(key, [0, 0])
                tally[key][0] += hit
                tally[key][1] += 1
        if not hit:
            misses.append(q.id)
    hits = sum(h for h, _ in by_kind.values())
    scored = sum(n for _, n in by_kind.values())
    return {
        "k": k,
        "questions": len(questions),
        "scored": scored,
        "hits": hits,
        "hit_rate": _rate(hits, scored),
        "by_kind": _groups(by_kind, kind_key),
        "by_doc_group": _groups(by_group, doc_group_key),
        "misses": misses,
        "district": _district_recall(rows),
    }


def evaluate_answers(ask_fn: AskFn, questions: Sequence[EvalQuestion]) -> dict[str, Any]:
    """How answers declare their scope, and whether they cite what they should.

    `ask_fn(question, history)` returns an `Answer`; its scope is `answer_scope(answer)`.
    Reported: off-library questions declined (answer scope not_in_library); in-library
    questions (expected answered or partial) refused, as count and rate; partial questions
    labelled partial; evidence found in the cited passages' texts (at least one evidence
    string: `cited_any_*`; every one: `cited_*`); district recall over the cited passages;
    and the full table of expected against given scopes.
    """
    answered: list[str] = []  # off-library questions the assistant answered anyway
    refused: list[str] = []
    partial_given: dict[str, int] = {}
    scopes = {s: dict.fromkeys(SCOPES, 0) for s in SCOPES}
    cited_hits = cited_any = cited_scored = 0
    cited_misses: list[str] = []
    rows: list[tuple[EvalQuestion, list[str]]] = []
    for q in questions:
        answer = ask_fn(q.question, q.history)
        given = answer_scope(answer)
        scopes[q.scope][given] += 1
        texts = [c.text for c in answer.citations]
        if q.scope == "not_in_library":
            if given != "not_in_library":
                answered.append(q.id)
            continue
        rows.append((q, texts))
        if given == "not_in_library":
            refused.append(q.id)
        if q.scope == "partial":
            partial_given[given] = partial_given.get(given, 0) + 1
        if q.evidence:
            cited_scored += 1
            cited_any += evidence_any(q.evidence, texts)
            if evidence_hit(q.evidence, texts):
                cited_hits += 1
            else:
                cited_misses.append(q.id)
    off_library = sum(scopes["not_in_library"].values())
    in_library = len(questions) - off_library
    declined = off_library - len(answered)
    partial = sum(partial_given.values())
    labelled = partial_given.get("partial", 0)
    return {
        "questions": len(questions),
        "out_of_scope": off_library,
        "out_of_scope_declined": declined,
        "out_of_scope_rate": _rate(declined, off_library),
        "out_of_scope_answered_ids": answered,
        "in_scope": in_library,
        "in_scope_refused": len(refused),
        "in_scope_refused_rate": _rate(len(refused), in_library),
        "in_scope_refused_ids": refused,
        "partial": partial,
        "partial_labelled": labelled,
        "partial_rate": _rate(labelled, partial),
        "partial_given": partial_given,
        "cited_hits": cited_hits,
        "cited_any_hits": cited_any,
        "cited_scored": cited_scored,
        "cited_hit_rate": _rate(cited_hits, cited_scored),
        "cited_any_rate": _rate(cited_any, cited_scored),
        "cited_misses": cited_misses,
        "scopes": scopes,
        "district": _district_recall(rows),
    }


# ---------------------------------------------------------------------------- stock recipe


class StockRecipe:
    """The stock LangChain recipe as a baseline: raw files, 1000/200 character splits, Chroma.

    Every library file in the manifest is read as TextLoader would (UTF-8, no cleaning, so
    boilerplate and mojibake stay in), split with RecursiveCharacterTextSplitter, embedded
    with the caller's embedder and searched by plain similarity. History is ignored, as in
    the stock recipe. The collection lives in an in-memory Chroma client under a unique name.
    """

    def __init__(
        self,
        corpus_dir: str | Path,
        embedder: Embedder,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
    ):
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_core.documents import Document

        try:
            from langchain_chroma import Chroma
            from langchain_text_splitters import RecursiveCharacterTextSplitter
        except ImportError as exc:
            raise MissingExtra(
                f"The stock LangChain recipe needs the `eval` extra ({exc.name} is missing): "
                "pip install -e '.[eval]', or run `lbw eval --no-stock`."
            ) from exc

        start = time.perf_counter()
        corpus_dir = Path(corpus_dir)
        manifest = json.loads((corpus_dir / "manifest.json").read_text(encoding="utf-8"))
        documents = []
        self.skipped: list[str] = []  # binary files (PDF, DOCX): TextLoader cannot read them
        for entry in manifest["documents"]:
            path = corpus_dir / entry["file"]
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                self.skipped.append(entry["file"])
                continue
            metadata = {"source": str(path), "doc_id": entry["id"], "title": entry["title"]}
            documents.append(Document(page_content=text, metadata=metadata))
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )
        chunks = splitter.split_documents(documents)
        for i, chunk in enumerate(chunks):
            chunk.metadata["chunk"] = i
        self.client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self.collection_name = f"stock-{uuid.uuid4().hex}"
        self.store = Chroma(
            collection_name=self.collection_name,
            embedding_function=_embeddings_adapter(embedder),
            client=self.client,
        )
        self.store.add_documents(chunks, ids=[f"stock-{i}" for i in range(len(chunks))])
        self.chunks = len(chunks)
        self.build_seconds = time.perf_counter() - start

    def retrieve(
        self, question: str, history: Sequence[Turn] = (), k: int = 8, filters: Any = None
    ) -> list[Passage]:
        """Top-k chunks by similarity to the question alone (score: negated Chroma distance)."""
        # similarity_search() is this call with the scores dropped.
        found = self.store.similarity_search_with_score(question, k=k)
        return [
            Passage(
                id=f"stock-{doc.metadata['chunk']}",
                doc_id=doc.metadata["doc_id"],
                title=doc.metadata["title"],
                section="",
                text=doc.page_content,
                score=-float(distance),
                metadata=dict(doc.metadata),
            )
            for doc, distance in found
        ]

    def close(self) -> None:
        """Drop the in-memory collection (the ephemeral client is shared per process)."""
        self.client.delete_collection(self.collection_name)


def _embeddings_adapter(embedder: Embedder) -> Any:
    """Wrap our Embedder as a LangChain `Embeddings` (imported lazily: langchain is slow)."""
    from langchain_core.embeddings import Embeddings

    class EmbedderAdapter(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_batch(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()

    return EmbedderAdapter()


# ---------------------------------------------------------------------------- a full run


class Memo:
    """Remembers a retrieve or ask function's results, so a run asks each question once."""

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn
        self.results: dict[Any, Any] = {}

    def __call__(self, question: str, history: Sequence[Turn] = (), **kwargs: Any) -> Any:
        key = (question, tuple(history), tuple(sorted(kwargs.items())))
        if key not in self.results:
            self.results[key] = self.fn(question, tuple(history), **kwargs)
        return self.results[key]


def _stock_or_none(settings: Settings, embedder: Embedder, include_stock: bool):
    return StockRecipe(settings.corpus_dir, embedder) if include_stock else None


def score_set(
    label: str,
    questions: Sequence[EvalQuestion],
    retrieve: RetrieveFn,
    ask: AskFn,
    stock: StockRecipe | None,
    k: int = 8,
) -> dict[str, Any]:
    """One set's report: our retrieval and answers, and the stock recipe's retrieval."""
    report: dict[str, Any] = {
        "questions_path": label,
        "questions": len(questions),
        "k": k,
        "ours": evaluate(retrieve, questions, k=k),
        "answers": evaluate_answers(ask, questions),
        "stock": None,
    }
    if stock is not None:
        report["stock"] = evaluate(stock.retrieve, questions, k=k)
        report["stock"].update(
            chunks=stock.chunks, build_seconds=stock.build_seconds, skipped=stock.skipped
        )
    return report


def _figure(report: Mapping[str, Any] | None, path: Sequence[str]) -> float | None:
    value: Any = report
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value if isinstance(value, int | float) else None


def tune_test_gap(sets: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """Tune minus test for each headline figure (None where either side has none)."""
    if not all(name in sets for name in SPLITS):
        return None
    gap = {}
    for label, path in HEADLINE:
        tune, test = _figure(sets["tune"], path), _figure(sets["test"], path)
        gap[label] = {
            "tune": tune,
            "test": test,
            "gap": None if tune is None or test is None else tune - test,
        }
    return gap


def run_sets(
    settings: Settings,
    sets: Mapping[str, Sequence[str | Path]],
    k: int = 8,
    embedder: Embedder | None = None,
    include_stock: bool = True,
    pairs_dir: str | Path | None = None,
    seed: int = 0,
    baseline: str | Path | None = None,
    allow_missing_baseline: bool = False,
    replies: str | Path | None = None,
) -> dict[str, Any]:
    """Score several named sets (name -> files) in one process: model, index, stock built once.

    Returns {"k", "sets": {name: one set's report}, "gap": tune - test or None, "pairs"}.
    With `pairs_dir`, blind grading pairs for every question are written there (eval.pairs);
    with `baseline` too (another version's `lbw ask --batch --json`), each pair has that
    version's answer as a third candidate. A baseline that lacks questions is refused before
    the model loads, unless `allow_missing_baseline`.
    """
    from assistant.embedding.choice import load_embedder
    from assistant.service import load_assistant

    loaded = {name: load_set(paths) for name, paths in sets.items()}  # bad files stop us early
    matched = None
    if baseline is not None:
        from eval.pairs import BaselineError, read_baseline

        if pairs_dir is None:
            raise BaselineError("--baseline goes with --pairs DIR.")
        matched = read_baseline(baseline, loaded, allow_missing=allow_missing_baseline)
    embedder = embedder or load_embedder(settings)
    composer = None
    if replies is not None:  # the model path, with stand-ins' recorded replies (eval.standin)
        from eval.standin import replay_composer

        composer = replay_composer(replies, settings)
    bot = (
        load_assistant(settings, embedder=embedder, composer=composer)
        if composer is not None
        else load_assistant(settings, embedder=embedder)
    )
    retrieve, ask = Memo(bot.retrieve), Memo(bot.ask)
    stock = _stock_or_none(settings, embedder, include_stock)
    try:
        reports = {
            name: score_set(describe(sets[name]), questions, retrieve, ask, stock, k=k)
            for name, questions in loaded.items()
        }
    finally:
        if stock is not None:
            stock.close()
    result: dict[str, Any] = {
        "k": k,
        "sets": reports,
        "gap": tune_test_gap(reports),
        "pairs": None,
    }
    if pairs_dir is not None:
        from eval.pairs import write_pairs

        top_k = settings.top_k  # what `lbw retrieve` shows by default
        result["pairs"] = write_pairs(
            pairs_dir,
            loaded,
            ask=ask,
            retrieve=lambda q, h: retrieve(q, h, k=top_k)[:3],
            seed=seed,
            baseline=None if matched is None else matched["answers"],
        )
        if matched is not None:
            result["pairs"]["baseline"] = {
                "file": matched["file"],
                "matched": len(matched["answers"]),
                "missing": [f"{s}/{i}" for s, i in matched["missing"]],
                "errors": matched["errors"],
            }
    return result


def run_eval(
    settings: Settings,
    questions_path: str | Path,
    k: int = 8,
    embedder: Embedder | None = None,
    include_stock: bool = True,
    pairs_dir: str | Path | None = None,
    seed: int = 0,
    baseline: str | Path | None = None,
    allow_missing_baseline: bool = False,
    replies: str | Path | None = None,
) -> dict[str, Any]:
    """Score our assistant (retrieval and answers) on one file and, beside it, the stock recipe."""
    result = run_sets(
        settings,
        {"set": [questions_path]},
        k=k,
        embedder=embedder,
        include_stock=include_stock,
        pairs_dir=pairs_dir,
        seed=seed,
        baseline=baseline,
        allow_missing_baseline=allow_missing_baseline,
        replies=replies,
    )
    report = result["sets"]["set"]
    report["questions_path"] = str(questions_path)
    if result["pairs"] is not None:
        report["pairs"] = result["pairs"]
    return report
