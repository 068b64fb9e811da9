"""Scale benchmark: a synthetic library N times the size of ours (default 100), not a test.

    python bench/scale.py [--scale 100] [--dir DIR] [--json OUT] [--keep]

The synthetic documents are generated, not copied: an order-2 word Markov chain trained on
the bundled library writes each document afresh from its own seed (new sentences, headings
and paragraph lengths), so passages are varied text with the library's vocabulary and no two
are duplicates. The bundled five documents stay in, so the devset questions still apply.

Measured on one machine, in one process with the model loaded once:
- the bare encoder (sentence-transformers MiniLM, batches like ingest's) on the chunks and
  their sentences;
- a full `run_ingest` (parse, chunk, catalog, embed, write, Chroma, publish) on the same
  library: chunks/s next to the encoder's, and the pipeline overhead (target <= 15 %);
- retrieval latency over the devset questions at that size (target p95 <= 150 ms);
- peak memory of the ingest process, and of a fresh `lbw retrieve --batch` serving process.
Target misses are reported, not raised.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchmark import log, peak_mb, percentiles, run_child, warm_then_time  # noqa: E402

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[.,;:?!]?|\d+[%.,]?")


def train(texts: list[str]) -> dict[tuple[str, str], list[str]]:
    chain: dict[tuple[str, str], list[str]] = defaultdict(list)
    for text in texts:
        words = WORD.findall(text)
        for a, b, c in zip(words, words[1:], words[2:], strict=False):
            chain[(a, b)].append(c)
    return chain


def sentence(chain, starts, rng: random.Random, limit: int = 40) -> str:
    a, b = rng.choice(starts)
    out = [a, b]
    while len(out) < limit:
        nxt = chain.get((a, b))
        if not nxt:
            break
        c = rng.choice(nxt)
        out.append(c)
        a, b = b, c
        if c[-1] in ".?!" and len(out) > 8:
            break
    text = " ".join(out)
    return text[0].upper() + text[1:] + ("" if text[-1] in ".?!" else ".")


def write_document(chain, starts, rng: random.Random, target_chars: int) -> tuple[str, str]:
    title = " ".join(
        w.strip(".,;:?!").capitalize() for w in sentence(chain, starts, rng, 8).split()[:6]
    )
    parts = [title, ""]
    size = 0
    while size < target_chars:
        if rng.random() < 0.25:
            heading = sentence(chain, starts, rng, 9).rstrip(".?!")
            parts += [heading, ""]
        paragraph = " ".join(sentence(chain, starts, rng) for _ in range(rng.randint(2, 7)))
        parts += [paragraph, ""]
        size += len(paragraph)
    return title, "\n".join(parts)


def make_library(target: Path, scale: int, seed: int = 7) -> dict[str, Any]:
    """The bundled corpus plus generated documents until the text is `scale` times larger."""
    src = ROOT / "corpus"
    shutil.copytree(src, target)
    manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    texts = [(src / d["file"]).read_text(encoding="utf-8") for d in manifest["documents"]]
    base_chars = sum(len(t) for t in texts)
    chain = train(texts)
    starts = [k for k in chain if k[0][:1].isupper() and k[0][-1] not in ".?!"]
    rng = random.Random(seed)
    total, n = base_chars, 0
    while total < scale * base_chars:
        n += 1
        size = rng.choice([6_000, 12_000, 20_000, 40_000])
        title, text = write_document(chain, starts, rng, size)
        name = f"synthetic-{n:04d}.txt"
        (target / name).write_text(text, encoding="utf-8")
        manifest["documents"].append(
            {
                "id": f"synthetic-{n:04d}",
                "title": f"Synthetic {n}: {title}",
                "authors": [],
                "publisher": "benchmark",
                "date": "2024",
                "kind": "article",
                "licence": None,
                "file": name,
            }
        )
        total += len(text)
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return {"documents": len(manifest["documents"]), "chars": total, "base_chars": base_chars}


def measure(work: Path, scale: int) -> dict[str, Any]:
    from assistant.core.settings import Settings
    from assistant.core.text import split_sentences
    from assistant.embedding.embedder import load_default_embedder
    from assistant.service import load_assistant
    from eval.scoring import load_questions
    from ingest.pipeline import build_chunks, run_ingest

    corpus, store = work / "corpus", work / "store"
    r: dict[str, Any] = {"scale": scale, "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}
    log(f"generating a library {scale}x the bundled one")
    start = time.perf_counter()
    r["library"] = make_library(corpus, scale)
    r["generate_s"] = time.perf_counter() - start
    env = {k: v for k, v in os.environ.items() if not k.startswith("LBW_")}
    env.update(
        LBW_STORE_DIR=str(store),
        LBW_CORPUS_DIR=str(corpus),
        LBW_LIBRARY_DIR=str(work / "user-library"),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    settings = Settings.from_env(env)
    base_chunks = len(build_chunks(Settings(store_dir=store, library_dir=work / "none")))

    log("loading the model")
    embedder = load_default_embedder(settings.model_path)
    embedder.embed_batch(["warm up the encoder"])

    log("parsing and chunking")
    chunks = build_chunks(settings)
    texts = [c.indexed_text() for c in chunks]
    # ingest embeds each passage and each of its sentences (sentences.npz); so does this
    sentences = [s for c in chunks for s in split_sentences(c.text)]
    r["chunks"] = len(texts)
    r["sentences"] = len(sentences)
    r["base_chunks"] = base_chunks
    r["chunk_ratio"] = len(texts) / base_chunks
    log(f"bare encoder on {len(texts)} chunks and {len(sentences)} sentences")
    start = time.perf_counter()
    for i in range(0, len(texts), 32):
        embedder.embed_batch(texts[i : i + 32])
    for i in range(0, len(sentences), 64):
        embedder.embed_batch(sentences[i : i + 64])
    r["encode_s"] = time.perf_counter() - start
    r["encoder_chunks_per_s"] = len(texts) / r["encode_s"]

    log("full ingest (parse, chunk, catalog, embed, write, Chroma, publish)")
    start = time.perf_counter()
    report = run_ingest(settings, rebuild=True, embedder=embedder, progress=False)
    r["ingest_s"] = time.perf_counter() - start
    r["ingest_chunks_per_s"] = report.chunks / r["ingest_s"]
    r["ingest_overhead_pct"] = 100 * (r["ingest_s"] - r["encode_s"]) / r["encode_s"]
    r["ingest_peak_mb"] = peak_mb()

    log("retrieval over the devset questions")
    questions = load_questions(ROOT / "eval" / "devset.jsonl")
    bot = load_assistant(settings)
    times = warm_then_time(lambda q: bot.retrieve(q.question, q.history), questions)
    r["retrieval_ms"] = percentiles(times)
    batch = work / "questions.jsonl"
    batch.write_text(
        "".join(json.dumps({"question": q.question}) + "\n" for q in questions), encoding="utf-8"
    )
    log("a fresh serving process: lbw retrieve --batch")
    child = run_child(["retrieve", "--batch", str(batch), "--json"], env)
    r["serve_peak_mb"] = child["peak_mb"]
    r["serve_rc"] = child["rc"]
    r["load_avg_end"] = os.getloadavg()
    return r


def report(r: dict[str, Any]) -> str:
    ok = lambda flag: "ok" if flag else "MISSED"  # noqa: E731
    lib = r["library"]
    return "\n".join(
        [
            f"library: {lib['documents']} documents, {lib['chars'] / 1e6:.1f} M chars "
            f"({lib['chars'] / lib['base_chars']:.0f}x); {r['chunks']} chunks "
            f"({r['chunk_ratio']:.0f}x the bundled {r['base_chunks']})",
            f"bare encoder:   {r['encoder_chunks_per_s']:.1f} chunks/s ({r['encode_s']:.0f} s)",
            f"full ingest:    {r['ingest_chunks_per_s']:.1f} chunks/s ({r['ingest_s']:.0f} s)",
            f"pipeline overhead: {r['ingest_overhead_pct']:+.1f} % (target <= 15 %: "
            f"{ok(r['ingest_overhead_pct'] <= 15)})",
            f"retrieval: p50 {r['retrieval_ms']['p50']:.1f} ms, p95 {r['retrieval_ms']['p95']:.1f}"
            f" ms over {r['retrieval_ms']['n']} questions (target p95 <= 150 ms: "
            f"{ok(r['retrieval_ms']['p95'] <= 150)})",
            f"memory: ingest process peak {r['ingest_peak_mb']:.0f} MB; fresh serving process "
            f"peak {r['serve_peak_mb']:.0f} MB",
            f"machine: {r['cpus']} CPUs, load average {r['load_avg_start'][0]:.1f} at start, "
            f"{r['load_avg_end'][0]:.1f} at end",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    work = args.dir or Path(tempfile.mkdtemp(prefix="lbw-scale-"))
    if work.exists() and any(work.iterdir()):
        parser.error(f"{work} is not empty")
    try:
        r = measure(work, args.scale)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(report(r))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
