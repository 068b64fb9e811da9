"""Scoring retrieval and answers on a question set, next to the stock LangChain recipe.

Trade-offs, stated once:
- Evidence matching is on `normalize`d text (lower-case ASCII letters and digits only), so
  mojibake, curly quotes, markup, line breaks and table pipes never decide a hit; the price is
  that a very short evidence string could match by accident, so evidence should be a phrase.
- A question counts as a hit only when *every* evidence string sits inside one retrieved
  passage: evidence split across two chunks is a miss, because a reader would not see it whole.
- School systems are "named" when one of their aliases (assistant.core.domain.SYSTEMS) occurs as
  a whole word. One-word aliases and acronyms must match as written ("grass roots" is not Roots
  Elementary, "space" is not ACE); longer names ignore case.
- The stock recipe runs in the same process with the same embedder instance, so the comparison
  measures chunking and retrieval, not the model.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.errors import LbwError
from assistant.core.settings import Settings
from assistant.core.types import Answer, Passage, Turn
from assistant.embedding.embedder import Embedder

KIND_ORDER = (
    "tension",
    "paraphrase",
    "district",
    "fact",
    "survey",
    "reflection",
    "short-doc",
    "follow-up",
    "out-of-scope",
)
TARGET_OVERALL = 0.95
TARGET_PER_KIND = 0.90

RetrieveFn = Callable[..., Sequence[Passage]]  # (question, history, k=) -> passages
AskFn = Callable[..., Answer]  # (question, history) -> answer


class QuestionSetError(LbwError):
    """A question file that cannot be read; the message names the file and line."""

    exit_code = 2


# ---------------------------------------------------------------------------- matching


def normalize(text: str) -> str:
    """Lower-case and keep only ASCII letters and digits, so formatting never decides a match."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def evidence_hit(evidence: Sequence[str], passages: Sequence[str]) -> bool:
    """True when every evidence string lies (normalised) inside at least one passage."""
    if not evidence:
        raise ValueError("evidence_hit needs at least one evidence string")
    texts = [normalize(p) for p in passages]
    return all(any(normalize(e) in t for t in texts) for e in evidence)


def _alias_pattern(alias: str) -> re.Pattern[str]:
    flags = re.IGNORECASE if len(alias.split()) > 1 else 0
    # ASCII boundaries: mojibake letters (â) next to a name must not hide it.
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(alias)}(?![A-Za-z0-9])", flags)


def _system_patterns(name: str) -> list[re.Pattern[str]]:
    from assistant.core.domain import SYSTEMS

    aliases = {name}
    for system in SYSTEMS:
        if system.name.lower() == name.lower():
            aliases |= {system.name, *system.aliases}
    return [_alias_pattern(a) for a in sorted(aliases)]


def systems_named(systems: Sequence[str], texts: Sequence[str]) -> list[str]:
    """The required systems (canonical names) that some text names by name or alias."""
    joined = "\n".join(texts)
    return [s for s in systems if any(p.search(joined) for p in _system_patterns(s))]


# ---------------------------------------------------------------------------- question sets


@dataclass(frozen=True)
class EvalQuestion:
    """One line of a question set: what is asked, and what a good answer must show."""

    id: str
    kind: str
    question: str
    history: tuple[Turn, ...] = ()
    evidence: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    in_scope: bool = True
    doc: str | None = None


def _str_list(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'"{field}" must be a list of strings')
    return tuple(value)


def _parse_question(record: Any) -> EvalQuestion:
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    for key in ("id", "kind", "question"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise ValueError(f'"{key}" must be a non-empty string')
    history = []
    for turn in record.get("history") or []:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ("user", "assistant")
            or not isinstance(turn.get("content"), str)
        ):
            raise ValueError(
                '"history" entries must be {"role": "user"|"assistant", "content": str}'
            )
        history.append(Turn(turn["role"], turn["content"]))
    evidence = _str_list(record.get("evidence", []), "evidence")
    if any(not normalize(e) for e in evidence):
        raise ValueError("an evidence string has no letters or digits, so it would match anything")
    in_scope = record.get("in_scope", True)
    if not isinstance(in_scope, bool):
        raise ValueError('"in_scope" must be true or false')
    doc = record.get("doc")
    if doc is not None and not isinstance(doc, str):
        raise ValueError('"doc" must be a string or null')
    return EvalQuestion(
        id=record["id"],
        kind=record["kind"],
        question=record["question"],
        history=tuple(history),
        evidence=evidence,
        systems=_str_list(record.get("systems", []), "systems"),
        in_scope=in_scope,
        doc=doc,
    )


def load_questions(path: str | Path) -> list[EvalQuestion]:
    """Read a JSON Lines question set; any bad line stops the run with its line number."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QuestionSetError(f"Cannot read question set {path}: {exc}") from exc
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            question = _parse_question(json.loads(line))
        except (json.JSONDecodeError, ValueError) as exc:
            raise QuestionSetError(f"{path}, line {number}: {exc}") from exc
        if question.id in seen:
            raise QuestionSetError(f'{path}, line {number}: duplicate id "{question.id}"')
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise QuestionSetError(f"{path} holds no questions.")
    return questions


# ---------------------------------------------------------------------------- scoring


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _kind_key(kind: str) -> tuple[int, str]:
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)


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
    """Evidence hit rate (overall and per kind) and district recall of a retriever's top k.

    `retrieve_fn(question, history, k=k)` returns passages with a `.text`; out-of-scope
    questions (no evidence) are asked too but only count towards district recall if they
    name systems.
    """
    by_kind: dict[str, list[int]] = {}
    misses: list[str] = []
    rows: list[tuple[EvalQuestion, list[str]]] = []
    for q in questions:
        texts = [p.text for p in retrieve_fn(q.question, q.history, k=k)]
        rows.append((q, texts))
        if not q.evidence:
            continue
        hit = evidence_hit(q.evidence, texts)
        by_kind.setdefault(q.kind, [0, 0])
        by_kind[q.kind][0] += hit
        by_kind[q.kind][1] += 1
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
        "by_kind": {
            kind: {"hits": h, "n": n, "hit_rate": _rate(h, n)}
            for kind, (h, n) in sorted(by_kind.items(), key=lambda kv: _kind_key(kv[0]))
        },
        "misses": misses,
        "district": _district_recall(rows),
    }


def evaluate_answers(ask_fn: AskFn, questions: Sequence[EvalQuestion]) -> dict[str, Any]:
    """Whether answers refuse exactly the out-of-scope questions, and cite what they should.

    `ask_fn(question, history)` returns an `Answer`. Reported: out-of-scope questions
    correctly declined, in-scope questions wrongly declined, evidence found among the cited
    passages, and district recall over the cited passages.
    """
    out_of_scope = [q for q in questions if not q.in_scope]
    answered: list[str] = []  # out-of-scope questions the assistant answered anyway
    refused: list[str] = []
    cited_hits = cited_scored = 0
    cited_misses: list[str] = []
    rows: list[tuple[EvalQuestion, list[str]]] = []
    for q in questions:
        answer = ask_fn(q.question, q.history)
        texts = [c.text for c in answer.citations]
        if not q.in_scope:
            if answer.in_scope:
                answered.append(q.id)
            continue
        rows.append((q, texts))
        if not answer.in_scope:
            refused.append(q.id)
        if q.evidence:
            cited_scored += 1
            if evidence_hit(q.evidence, texts):
                cited_hits += 1
            else:
                cited_misses.append(q.id)
    in_scope_n = len(questions) - len(out_of_scope)
    declined = len(out_of_scope) - len(answered)
    return {
        "questions": len(questions),
        "out_of_scope": len(out_of_scope),
        "out_of_scope_declined": declined,
        "out_of_scope_rate": _rate(declined, len(out_of_scope)),
        "out_of_scope_answered_ids": answered,
        "in_scope": in_scope_n,
        "in_scope_refused": len(refused),
        "in_scope_refused_ids": refused,
        "cited_hits": cited_hits,
        "cited_scored": cited_scored,
        "cited_hit_rate": _rate(cited_hits, cited_scored),
        "cited_misses": cited_misses,
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
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

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


def run_eval(
    settings: Settings,
    questions_path: str | Path,
    k: int = 8,
    embedder: Embedder | None = None,
    include_stock: bool = True,
) -> dict[str, Any]:
    """Score our assistant (retrieval and answers) and, beside it, the stock recipe."""
    from assistant.embedding.embedder import load_default_embedder
    from assistant.service import load_assistant

    questions = load_questions(questions_path)
    embedder = embedder or load_default_embedder(settings.model_path)
    bot = load_assistant(settings, embedder=embedder)
    report: dict[str, Any] = {
        "questions_path": str(questions_path),
        "questions": len(questions),
        "k": k,
        "ours": evaluate(bot.retrieve, questions, k=k),
        "answers": evaluate_answers(bot.ask, questions),
        "stock": None,
    }
    if include_stock:
        stock = StockRecipe(settings.corpus_dir, embedder)
        try:
            report["stock"] = evaluate(stock.retrieve, questions, k=k)
            report["stock"].update(
                chunks=stock.chunks, build_seconds=stock.build_seconds, skipped=stock.skipped
            )
        finally:
            stock.close()
    return report


def _fmt_rate(rate: float | None) -> str:
    return "  -  " if rate is None else f"{rate:.3f}"


def _mark(rate: float | None, target: float) -> str:
    return "" if rate is None else ("PASS" if rate >= target else "FAIL")


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table: hit rate per kind for ours and stock, then recall and scope."""
    ours, stock, answers = report["ours"], report.get("stock"), report["answers"]
    kinds = sorted(set(ours["by_kind"]) | set((stock or {}).get("by_kind", {})), key=_kind_key)
    lines = [
        f"Question set: {report['questions_path']} ({report['questions']} questions, "
        f"{ours['scored']} with evidence), top k = {report['k']}",
        "",
        f"{'evidence hit rate':<22}{'n':>4}  {'ours':>6}  {'stock':>6}  target",
    ]

    def row(label: str, n: int, mine: float | None, theirs: float | None, target: float) -> str:
        return (
            f"{label:<22}{n:>4}  {_fmt_rate(mine):>6}  {_fmt_rate(theirs):>6}  "
            f">= {target:.2f} {_mark(mine, target)}"
        )

    lines.append(
        row(
            "overall", ours["scored"], ours["hit_rate"], stock and stock["hit_rate"], TARGET_OVERALL
        )
    )
    for kind in kinds:
        mine = ours["by_kind"].get(kind, {})
        theirs = (stock or {}).get("by_kind", {}).get(kind, {})
        lines.append(
            row(
                f"  {kind}",
                mine.get("n", 0),
                mine.get("hit_rate"),
                theirs.get("hit_rate"),
                TARGET_PER_KIND,
            )
        )
    lines.append("")
    d_ours, d_ans = ours["district"], answers["district"]
    d_stock = (stock or {}).get("district", {})
    lines.append(
        f"{'district recall':<22}{'':>4}  {_fmt_rate(d_ours['recall']):>6}  "
        f"{_fmt_rate(d_stock.get('recall')):>6}  retrieval "
        f"({d_ours['found']}/{d_ours['required']} systems named)"
    )
    lines.append(
        f"{'':<22}{'':>4}  {_fmt_rate(d_ans['recall']):>6}  {'':>6}  cited in answers "
        f"({d_ans['found']}/{d_ans['required']})"
    )
    lines.append(
        f"{'evidence cited':<22}{answers['cited_scored']:>4}  "
        f"{_fmt_rate(answers['cited_hit_rate']):>6}  {'':>6}  in answers' citations"
    )
    lines.append("")
    answered = answers.get("out_of_scope_answered_ids", [])
    lines.append(
        f"out of scope declined: {answers['out_of_scope_declined']}/"
        f"{answers['out_of_scope']} ({_fmt_rate(answers['out_of_scope_rate'])})"
        + (f"; answered anyway: {', '.join(answered)}" if answered else "")
    )
    refused = answers["in_scope_refused_ids"]
    lines.append(
        f"in scope refused:      {len(refused)}/{answers['in_scope']}"
        + (f" ({', '.join(refused)})" if refused else "")
    )
    if stock is not None and "chunks" in stock:
        lines.append(
            f"stock recipe:          {stock['chunks']} chunks, "
            f"built in {stock['build_seconds']:.1f} s"
        )
    if ours["misses"]:
        lines.append(f"retrieval misses (ours): {', '.join(ours['misses'])}")
    if stock and stock["misses"]:
        lines.append(f"retrieval misses (stock): {', '.join(stock['misses'])}")
    return "\n".join(lines)
