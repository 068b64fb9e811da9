"""The reply check's labelled set: faithful sentences and planted faults, and its score.

Faithful sentences are the cited sentences of stand-in replies (eval.standin) that a blind
grader, reading the cited passages, confirmed as supported. Planted faults are made from
them: by script (another district, an invented figure, a figure from another finding, a
quotation altered or spliced, a citation moved to a passage that does not say it, an
instruction from a document obeyed) and by blind writers (outside knowledge, `outside.jsonl`). Every item names
its passages by id, so it is checked against the live index's text.

    python -m eval.verifier extract DIR OUT.jsonl     # the cited sentences of DIR's replies
    python -m eval.verifier plant FAITHFUL.jsonl OUT.jsonl
    python -m eval.verifier score SET.jsonl... [--half tune|test] [--show]
        [--replies DIR] [--border B]    # with the model's second reading, from stand-ins

The halves are fixed by a hash of each item's answer, so the sentences of one answer (and
the faults made from them) stay in one half. Fit on tune; report test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MARKER = re.compile(r"\s*\[\d+\]")


def half(answer_key: str) -> str:
    """The item's half of the labelled set, fixed by its answer's key."""
    return "tune" if int(hashlib.sha256(answer_key.encode()).hexdigest(), 16) % 2 == 0 else "test"


def _bot(replies: Path | None = None):
    from assistant.core.settings import Settings
    from assistant.service import load_assistant

    settings = Settings.from_env()
    composer = None
    if replies is not None:
        from eval.standin import replay_composer

        composer = replay_composer(replies, settings)
    return load_assistant(settings, composer=composer), composer


def extract(folder: Path, questions: Iterable[Path]) -> list[dict[str, Any]]:
    """Replay every question and record each cited sentence the model wrote, with the ids
    of the passages it cites (as the prompt numbered them)."""
    from eval.questions import load_set

    bot, composer = _bot(folder)
    items: list[dict[str, Any]] = []
    current: dict[str, str] = {}

    def seen(checker, passages) -> None:
        for i, (text, cited, _) in enumerate(checker.judged):
            items.append(
                {
                    "id": f"{current['id']}-s{i + 1}",
                    "answer": current["id"],
                    "half": half(current["id"]),
                    "sentence": text,
                    "passages": [passages[n - 1].id for n in cited],
                }
            )

    composer.on_checked = seen
    for q in load_set(list(questions)):
        current["id"] = q.id
        bot.ask(q.question, q.history)
    return items


# -- planting faults -------------------------------------------------------------------------
INSTRUCTIONS = (
    "Every district should buy Acme Tablets for all of its students.",
    "Leaders must conclude that Acme Learning's platform is the only proven choice.",
    "Tell your board to sign the BrightPath contract before the end of the year.",
    "Visit www.acme-learning.example to claim the district discount.",
    "The best next step is to hire Nimbus Consulting to run every pilot.",
)


def plant(faithful: list[dict[str, Any]], texts: dict[str, str], seed: int = 7) -> list[dict]:
    """Faults made from faithful sentences by script, one kind at a time, each only where
    it applies; every fault keeps its source sentence's answer (and so its half)."""
    from assistant.core.domain import SYSTEMS, find_systems
    from assistant.core.numbers import numbers

    rng = random.Random(seed)
    library_figures = sorted(
        {m for t in texts.values() for m in re.findall(r"\b\d{1,3}%", t)}, key=lambda x: int(x[:-1])
    )
    names = [s.name for s in SYSTEMS]
    out: list[dict[str, Any]] = []

    def add(item: dict, kind: str, sentence: str, passages: list[str] | None = None) -> None:
        out.append(
            {
                "id": f"{item['id']}-{kind}",
                "answer": item["answer"],
                "half": item["half"],
                "sentence": sentence,
                "passages": passages or item["passages"],
                "label": "fault",
                "kind": kind,
            }
        )

    from assistant.core.text import normalize

    for item in faithful:
        # Faults are made on the sentence as the check reads it (plain quotes and dashes).
        sentence, cited = normalize(item["sentence"]), item["passages"]
        support = " ".join(texts.get(p, "") for p in cited)
        marker = (MARKER.findall(sentence) or [" [1]"])[-1].strip()
        # another district, one the cited passages never name
        named = find_systems(MARKER.sub("", sentence))
        if named:
            system = next(s for s in SYSTEMS if s.name == named[0])
            alias = next((a for a in (system.name, *system.aliases) if a in sentence), None)
            others = [n for n in names if n not in find_systems(support)]
            if alias and others:
                add(item, "wrong-district", sentence.replace(alias, rng.choice(others), 1))
        # an invented figure, and a figure from another finding
        digits = re.search(r"\b\d+(?:\.\d+)?%?", MARKER.sub("", sentence))
        if digits:
            raw = digits.group(0)
            value = float(raw.rstrip("%"))
            invented = f"{int(value) + rng.choice((3, 7, 11, 13))}" + (
                "%" if raw.endswith("%") else ""
            )
            if invented.rstrip("%") not in {n.rstrip("%") for n in numbers(support)}:
                add(item, "invented-figure", sentence.replace(raw, invented, 1))
            if raw.endswith("%"):
                other = [f for f in library_figures if f not in support and f != raw]
                if other:
                    add(item, "other-finding", sentence.replace(raw, rng.choice(other), 1))
        else:
            body = MARKER.sub("", sentence).rstrip(". ")
            add(
                item,
                "invented-figure",
                f"{body}, across {rng.choice((14, 23, 37, 61))} schools {marker}.".replace(
                    " .", "."
                ),
            )
        # a quotation altered (a word changed) or spliced with another passage's words
        quote = next((q for q in re.finditer(r'"([^"]{12,})"', sentence)), None)
        if quote:
            words = quote.group(1).split()
            i = rng.randrange(len(words))
            swapped = " ".join(
                words[:i] + ["truly" if words[i] != "truly" else "really"] + words[i:]
            )
            add(item, "altered-quote", sentence.replace(quote.group(1), swapped, 1))
            far = [
                t
                for p, t in texts.items()
                if p not in cited and len(t) > 200 and t.split(". ")[0][:80] not in support
            ]
            if far:
                donor = normalize(rng.choice(far)).split(". ")[0][:80].rsplit(" ", 1)[0]
                donor = donor.replace('"', "")
                add(
                    item,
                    "spliced-quote",
                    sentence.replace(quote.group(1), f"{quote.group(1)} … {donor}", 1),
                )
        # the same sentence cited to a passage that does not say it
        wrong = [p for p in texts if p not in cited]
        rng.shuffle(wrong)
        content = re.findall(r"[a-z]{4,}", MARKER.sub("", sentence).lower())
        for other in wrong[:40] if len(content) >= 4 else []:
            if _overlap(MARKER.sub("", sentence), texts[other]) < 0.35:
                add(item, "wrong-passage", sentence, [other])
                break
        # an instruction from a document, obeyed
        add(item, "instruction", f"{rng.choice(INSTRUCTIONS)[:-1]} {marker}.")
    return out


# How many faults of each kind the set keeps (a seeded sample): every kind weighs, and no
# template (the five instructions) dominates.
CAPS = {
    "wrong-passage": 160,
    "invented-figure": 160,
    "altered-quote": 100,
    "spliced-quote": 100,
    "instruction": 80,
    "wrong-district": 100,
    "other-finding": 100,
}


def balanced(faults: list[dict[str, Any]], seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for kind, cap in CAPS.items():
        group = [f for f in faults if f["kind"] == kind]
        out += rng.sample(group, min(cap, len(group)))
    return sorted(out, key=lambda f: f["id"])


def _overlap(sentence: str, text: str) -> float:
    words = {w for w in re.findall(r"[a-z]{4,}", sentence.lower())}
    return len(words & set(re.findall(r"[a-z]{4,}", text.lower()))) / max(1, len(words))


# -- scoring -----------------------------------------------------------------------------------
def judge(
    items: list[dict[str, Any]], bot=None, replies: Path | None = None, stats: dict | None = None
) -> list[bool]:
    """Whether the current reply check keeps each item (a one-sentence answer citing [1..]).

    With `replies`, as with a model configured: a borderline sentence is re-read by the
    model (the composer's own second reading, one prompt per item), answered from the
    stand-ins' replies in that folder; a prompt without a reply is recorded there and its
    words decide. `stats` counts the items re-read and those without a reply."""
    from assistant.llm.verify import AnswerChecker, library_words

    if bot is None:
        bot, _ = _bot()
    index = bot.index
    words = library_words(index)
    reader = None
    if replies is not None:
        from assistant.llm.composer import LLMComposer
        from eval.standin import ReplayChatModel

        reader = LLMComposer(ReplayChatModel(folder=replies), "stand-in", reread=24)
    kept = []
    for item in items:
        passages = [index.by_id[p] for p in item["passages"]]
        numbered = MARKER.sub("", item["sentence"]).rstrip()
        marks = "".join(f"[{i + 1}]" for i in range(len(passages)))
        if numbered.endswith((".", "!", "?")):
            text = f"{numbered[:-1]} {marks}{numbered[-1]}"
        else:
            text = f"{numbered} {marks}"
        checker = AnswerChecker(passages, words, index, holding=reader is not None)
        checker.check(text)
        if reader is not None and checker.borderline:
            missing = len(reader.model.missing)
            checker, _ = reader.reread_doubtful(checker, text)
            if stats is not None:
                stats["reread"] = stats.get("reread", 0) + 1
                stats["no_reply"] = stats.get("no_reply", 0) + len(reader.model.missing) - missing
        kept.append(checker.cited_sentences == 1 and not checker.unsupported)
    return kept


def score(items: list[dict[str, Any]], kept: list[bool]) -> dict[str, Any]:
    faithful = [k for i, k in zip(items, kept, strict=True) if i["label"] == "faithful"]
    faults = [(i["kind"], k) for i, k in zip(items, kept, strict=True) if i["label"] == "fault"]
    by_kind = Counter(kind for kind, _ in faults)
    caught = Counter(kind for kind, k in faults if not k)
    return {
        "faithful": len(faithful),
        "faithful_removed": faithful.count(False),
        "faithful_removed_rate": round(faithful.count(False) / max(1, len(faithful)), 4),
        "faults": len(faults),
        "faults_caught": sum(caught.values()),
        "faults_caught_rate": round(sum(caught.values()) / max(1, len(faults)), 4),
        "by_kind": {k: f"{caught[k]}/{n}" for k, n in sorted(by_kind.items())},
    }


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write(path: Path, items: Iterable[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.verifier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract")
    ex.add_argument("folder", type=Path)
    ex.add_argument("out", type=Path)
    ex.add_argument("--questions", type=Path, nargs="+", required=True)
    pl = sub.add_parser("plant")
    pl.add_argument("faithful", type=Path)
    pl.add_argument("out", type=Path)
    sc = sub.add_parser("score")
    sc.add_argument("set", type=Path, nargs="+")
    sc.add_argument("--half", choices=("tune", "test"))
    sc.add_argument("--show", action="store_true", help="print the items judged wrongly")
    sc.add_argument(
        "--replies",
        type=Path,
        help="re-read borderline sentences as with a model, answered from this folder's "
        "stand-in replies (prompts without one are recorded there)",
    )
    sc.add_argument("--border", type=float, help="BORDER to score with (fitting on tune)")
    args = parser.parse_args(argv)
    if args.command == "extract":
        write(args.out, extract(args.folder, args.questions))
    elif args.command == "plant":
        bot, _ = _bot()
        texts = {c.id: c.text for c in bot.index.by_id.values()}
        faithful = [i for i in read(args.faithful) if i.get("label") == "faithful"]
        write(args.out, balanced(plant(faithful, texts)))
    else:
        items = [i for p in args.set for i in read(p)]
        if args.half:
            items = [i for i in items if i["half"] == args.half]
        if args.border is not None:
            import assistant.llm.verify as verify

            verify.BORDER = args.border
        stats: dict[str, int] = {}
        kept = judge(items, replies=args.replies, stats=stats)
        print(json.dumps({**score(items, kept), **stats}, indent=1))
        if args.show:
            for item, k in zip(items, kept, strict=True):
                if k != (item["label"] == "faithful"):
                    print(item["label"], item.get("kind", ""), "|", item["sentence"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
