"""Record every user-visible output of `lbw` into one folder, so a refactor can be proved
byte-for-byte unchanged: run it before and after, then `diff -r BEFORE AFTER`.

    python bench/snapshot.py OUT_DIR

Timing fields (`ms`, `seconds`) are dropped; the .docx guide is compared by its parts' XML
(the zip stores write times) and the .pdf guide by its text and page count, since both
containers stamp creation dates.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LBW = [sys.executable, "-m", "assistant.cli"]
SETS = ["eval/devset.jsonl", "eval/heldout.jsonl"]
SUBCOMMANDS = [
    "ingest",
    "retrieve",
    "ask",
    "examples",
    "survey",
    "questions",
    "eval",
    "add",
    "remove",
    "edit",
    "docs",
    "prompts",
    "guide",
]


def _strip_timing(value):
    if isinstance(value, dict):
        return {k: _strip_timing(v) for k, v in value.items() if k not in ("ms", "seconds")}
    if isinstance(value, list):
        return [_strip_timing(v) for v in value]
    return value


def _run(args: list[str], out: Path, name: str, json_doc: bool = True) -> None:
    done = subprocess.run(LBW + args, cwd=ROOT, capture_output=True, text=True, check=False)
    text = done.stdout
    if json_doc and done.returncode == 0:
        text = json.dumps(_strip_timing(json.loads(text)), ensure_ascii=False, indent=1)
    (out / name).write_text(f"exit {done.returncode}\n{text}\n--- stderr\n{done.stderr}")


def _batch_file(src: str, out: Path) -> Path:
    """The set's questions and histories in the batch shape."""
    lines = []
    for line in (ROOT / src).read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        lines.append(json.dumps({"question": item["question"], "history": item.get("history", [])}))
    path = out / ("batch-" + Path(src).stem + ".jsonl")
    path.write_text("\n".join(lines) + "\n")
    return path


def main(out_dir: str) -> int:
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for src in SETS:
        batch = _batch_file(src, out)
        stem = Path(src).stem
        _run(["ask", "--batch", str(batch), "--json"], out, f"ask-{stem}.json")
        _run(["retrieve", "--batch", str(batch), "--json"], out, f"retrieve-{stem}.json")
    for cmd in ("examples", "survey", "questions", "prompts", "docs"):
        _run([cmd, "--json"], out, f"{cmd}.json")
    _run(["ask", "How did others handle need vs readiness?"], out, "ask-text.txt", False)
    for cmd in [None, *SUBCOMMANDS]:
        args = [cmd, "--help"] if cmd else ["--help"]
        _run(args, out, f"help-{cmd or 'lbw'}.txt", False)
    guides = out / "guide"
    guides.mkdir(exist_ok=True)
    for suffix in ("md", "docx", "pdf"):
        _run(["guide", "--out", str(guides / f"guide.{suffix}")], out, f"guide-{suffix}.txt", False)
    docx = guides / "guide.docx"
    with zipfile.ZipFile(docx) as z:
        for name in sorted(z.namelist()):
            if name.endswith(".xml") and "core" not in name:
                (guides / ("docx-" + name.replace("/", "_"))).write_bytes(z.read(name))
    docx.unlink()
    from pypdf import PdfReader

    pdf = guides / "guide.pdf"
    reader = PdfReader(pdf)
    text = "\n\f\n".join(page.extract_text() for page in reader.pages)
    (guides / "pdf-text.txt").write_text(f"pages {len(reader.pages)}\n{text}")
    pdf.unlink()
    for p in out.glob("guide-*.txt"):  # the message names the output path
        p.write_text(p.read_text().replace(str(guides), "GUIDES"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "snapshot"))
