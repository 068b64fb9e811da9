"""Tally blind grades against the key of a `lbw eval --pairs DIR` kit.

    python -m eval.tally DIR GRADES.jsonl [GRADES2.jsonl ...] [--set NAME] [--json]

Each grades line is {"set", "id", "grades": {label: {criterion: 0|1|2}}, "order": "B>A=C"}
(GRADING.md); on a two-candidate line `order` may be left out or replaced by "prefer":
"A" | "B" | "tie". Labels are turned into sources ("composed", "baseline", "retrieved") with
DIR/key.jsonl, and each question is put in one group from DIR/pairs.jsonl: off-library
(scope not_in_library), else follow-up (it has a history), else partial, else answerable.

Printed: per source and group, the mean of each criterion and n; per source, the share of
in-library candidates (answerable, partial, follow-up) scoring 5 or 6 of 6 on addresses +
evidence + useful; and the pairwise preferences composed vs retrieved and composed vs
baseline (wins, ties, losses, wins:losses).

Trade-offs: a question graded more than once (several graders) counts once: its grades are
averaged per candidate and criterion, and its preference is the sign of the graders' mean
(+1 better, 0 as good, -1 worse), so a split decision is a tie. A line that cannot be read
whole (a label, a criterion or the order missing or out of range) is reported with its file
and line and not counted at all, rather than counted in part; questions of the kit that no
valid line grades are listed. The exit status is 1 when a line was malformed, so a script
notices.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.pairs import BASELINE, COMPOSED, CRITERIA, LABELS, RETRIEVED

SOURCES = (COMPOSED, BASELINE, RETRIEVED)
GROUPS = ("answerable", "partial", "follow-up", "off-library")
IN_LIBRARY = ("answerable", "partial", "follow-up")
TOP = 5  # of 6 on addresses + evidence + useful
PAIRS = ((COMPOSED, RETRIEVED), (COMPOSED, BASELINE))

Key = tuple[str, str]  # (set, id)


class TallyError(Exception):
    """The kit (key.jsonl, pairs.jsonl) or a grades file cannot be read."""


@dataclass
class Kit:
    """What a kit says of each question: its labels' sources and its group."""

    sources: dict[Key, dict[str, str]] = field(default_factory=dict)
    groups: dict[Key, str] = field(default_factory=dict)


@dataclass
class Grade:
    """One valid grades line, in sources: scores per criterion, and ranks (0 best) if given."""

    scores: dict[str, dict[str, int]]
    ranks: dict[str, int] | None


def _jsonl(path: Path) -> Iterable[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TallyError(f"Cannot read {path}: {exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def group_of(record: Mapping[str, Any]) -> str:
    """A pairs record's group: off-library, follow-up, partial or answerable (in that order)."""
    if record.get("scope") == "not_in_library":
        return "off-library"
    if record.get("history"):
        return "follow-up"
    if record.get("scope") == "partial":
        return "partial"
    return "answerable"


def load_kit(kit_dir: str | Path) -> Kit:
    kit_dir = Path(kit_dir)
    kit = Kit()
    for name in ("key.jsonl", "pairs.jsonl"):
        for number, line in _jsonl(kit_dir / name):
            try:
                record = json.loads(line)
                key = (record["set"], record["id"])
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise TallyError(f"{kit_dir / name}:{number}: not a kit line ({exc!r})") from exc
            if name == "key.jsonl":
                kit.sources[key] = {k: v for k, v in record.items() if k in LABELS}
            else:
                kit.groups[key] = group_of(record)
    if missing := set(kit.sources) - set(kit.groups):
        raise TallyError(f"{len(missing)} questions of key.jsonl are not in pairs.jsonl.")
    return kit


def parse_order(order: Any, labels: Sequence[str]) -> dict[str, int]:
    """{label: rank} from "B>A=C" (rank 0 is best; "=" shares a rank). Every label once."""
    if not isinstance(order, str):
        raise ValueError('"order" is not a string')
    ranks: dict[str, int] = {}
    for rank, tier in enumerate(order.replace(" ", "").split(">")):
        for label in tier.split("="):
            if label not in labels:
                raise ValueError(
                    f'"order" {order!r} names {label!r}, not one of {"/".join(labels)}'
                )
            if label in ranks:
                raise ValueError(f'"order" {order!r} names {label} twice')
            ranks[label] = rank
    if len(ranks) != len(labels):
        left = ", ".join(lbl for lbl in labels if lbl not in ranks)
        raise ValueError(f'"order" {order!r} leaves out {left}')
    return ranks


def parse_line(line: str, kit: Kit) -> tuple[Key, Grade]:
    """One grades line checked against the kit; ValueError says what is wrong with it."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    key = (record.get("set"), record.get("id"))
    if not all(isinstance(part, str) for part in key) or key not in kit.sources:
        raise ValueError(f"set {key[0]!r}, id {key[1]!r} is not a question of the kit")
    sources = kit.sources[key]
    labels = [lbl for lbl in LABELS if lbl in sources]
    grades = record.get("grades")
    if not isinstance(grades, dict) or sorted(grades) != labels:
        given = "/".join(sorted(grades)) if isinstance(grades, dict) else "none"
        raise ValueError(f'"grades" must grade {"/".join(labels)} (given: {given})')
    scores: dict[str, dict[str, int]] = {}
    for label in labels:
        marks = grades[label]
        if not isinstance(marks, dict):
            raise ValueError(f"grades of {label} are not an object")
        for criterion in CRITERIA:
            value = marks.get(criterion)
            if type(value) is not int or not 0 <= value <= 2:
                raise ValueError(f"{label}.{criterion} is {value!r}, not 0, 1 or 2")
        scores[sources[label]] = {c: marks[c] for c in CRITERIA}
    ranks = None
    if "order" in record:
        ranks = parse_order(record["order"], labels)
    if "prefer" in record:
        prefer = record["prefer"]
        if len(labels) != 2 or prefer not in ("A", "B", "tie"):
            raise ValueError(f'"prefer" {prefer!r}: only "A", "B" or "tie", on two candidates')
        preferred = {"A": {"A": 0, "B": 1}, "B": {"A": 1, "B": 0}, "tie": {"A": 0, "B": 0}}
        if ranks is not None and ranks != preferred[prefer]:
            raise ValueError(f'"prefer" {prefer!r} contradicts "order" {record["order"]!r}')
        ranks = preferred[prefer]
    if ranks is None and len(labels) > 2:
        raise ValueError('"order" is missing (three candidates)')
    by_source = None if ranks is None else {sources[lbl]: r for lbl, r in ranks.items()}
    return key, Grade(scores, by_source)


def read_grades(
    paths: Sequence[str | Path], kit: Kit
) -> tuple[dict[Key, list[Grade]], list[dict[str, Any]]]:
    """Every valid grades line per question, and every malformed one as {file, line, reason}."""
    graded: dict[Key, list[Grade]] = {}
    malformed: list[dict[str, Any]] = []
    for path in paths:
        for number, line in _jsonl(Path(path)):
            try:
                key, grade = parse_line(line, kit)
            except ValueError as exc:
                malformed.append({"file": str(path), "line": number, "reason": str(exc)})
                continue
            graded.setdefault(key, []).append(grade)
    return graded, malformed


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def tally(
    kit: Kit,
    graded: Mapping[Key, Sequence[Grade]],
    malformed: Sequence[Mapping[str, Any]] = (),
    set_name: str | None = None,
) -> dict[str, Any]:
    """The figures of the module docstring over the kit's questions (of one set, if given)."""
    keys = [k for k in kit.sources if set_name is None or k[0] == set_name]
    done = [k for k in keys if graded.get(k)]
    # per question and source: each criterion averaged over the question's graders
    scores: dict[str, dict[str, list[dict[str, float]]]] = {
        s: {g: [] for g in GROUPS} for s in SOURCES
    }
    prefs = {pair: {"wins": 0, "ties": 0, "losses": 0} for pair in PAIRS}
    for key in done:
        grades = graded[key]
        for source in kit.sources[key].values():
            scores[source][kit.groups[key]].append(
                {c: sum(g.scores[source][c] for g in grades) / len(grades) for c in CRITERIA}
            )
        for ours, other in PAIRS:
            votes = [
                _sign(g.ranks[other] - g.ranks[ours])
                for g in grades
                if g.ranks is not None and ours in g.ranks and other in g.ranks
            ]
            if votes:
                outcome = ("losses", "ties", "wins")[_sign(sum(votes)) + 1]
                prefs[(ours, other)][outcome] += 1
    means: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for source in SOURCES:
        rows = {**scores[source], "all": [r for g in GROUPS for r in scores[source][g]]}
        means[source] = {
            group: {"n": len(rs), **{c: _mean([r[c] for r in rs]) for c in CRITERIA}}
            for group, rs in rows.items()
        }
        inside = [r for g in IN_LIBRARY for r in scores[source][g]]
        hits = sum(r["addresses"] + r["evidence"] + r["useful"] >= TOP for r in inside)
        share = hits / len(inside) if inside else None
        top[source] = {"hits": hits, "n": len(inside), "share": share}
    preferences = {}
    for (ours, other), counts in prefs.items():
        wins, losses = counts["wins"], counts["losses"]
        ratio = wins / losses if losses else None
        preferences[f"{ours} vs {other}"] = {**counts, "n": sum(counts.values()), "ratio": ratio}
    return {
        "set": set_name,
        "questions": len(keys),
        "graded": len(done),
        "graded_more_than_once": sum(len(graded[k]) > 1 for k in done),
        "not_graded": [f"{s}/{i}" for s, i in keys if not graded.get((s, i))],
        "malformed": list(malformed),
        "means": means,
        "top_share": top,
        "preferences": preferences,
    }


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_tally(report: Mapping[str, Any]) -> str:
    lines = [
        f"{report['graded']} of {report['questions']} questions graded"
        + (f" (set {report['set']})" if report["set"] else "")
        + f"; {report['graded_more_than_once']} graded more than once (averaged); "
        f"{len(report['malformed'])} malformed lines; {len(report['not_graded'])} not graded.",
        "",
        f"{'source':<10} {'group':<12} {'n':>4}  " + "  ".join(f"{c:>9}" for c in CRITERIA),
    ]
    for source in SOURCES:
        for group, row in report["means"][source].items():
            if row["n"]:
                cells = "  ".join(f"{_num(row[c]):>9}" for c in CRITERIA)
                lines.append(f"{source:<10} {group:<12} {row['n']:>4}  {cells}")
    lines += ["", f"in-library candidates scoring {TOP}-6 of 6 (addresses + evidence + useful):"]
    for source in SOURCES:
        t = report["top_share"][source]
        if t["n"]:
            lines.append(f"  {source:<10} {t['hits']}/{t['n']} ({_num(t['share'])})")
    lines += ["", "preferences (from order; one vote per question, graders averaged):"]
    for name, p in report["preferences"].items():
        if p["n"]:
            ratio = "no losses" if p["ratio"] is None else f"{p['ratio']:.2f}"
            lines.append(
                f"  {name}: {p['wins']} wins, {p['ties']} ties, {p['losses']} losses "
                f"(wins:losses {p['wins']}:{p['losses']} = {ratio})"
            )
    if report["not_graded"]:
        lines += [
            "",
            f"not graded ({len(report['not_graded'])}): " + ", ".join(report["not_graded"]),
        ]
    if report["malformed"]:
        lines += ["", f"malformed lines ({len(report['malformed'])}), not counted:"]
        lines += [f"  {m['file']}:{m['line']}: {m['reason']}" for m in report["malformed"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.tally", description="Tally blind grades against a --pairs kit."
    )
    parser.add_argument("kit", metavar="DIR", help="the `lbw eval --pairs DIR` folder")
    parser.add_argument("grades", nargs="+", metavar="GRADES.jsonl", help="graders' files")
    parser.add_argument("--set", dest="set_name", help="tally one set only (tune, test, ...)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    try:
        kit = load_kit(args.kit)
        graded, malformed = read_grades(args.grades, kit)
    except TallyError as exc:
        print(f"eval.tally: {exc}", file=sys.stderr)
        return 2
    report = tally(kit, graded, malformed, args.set_name)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_tally(report))
    return 1 if malformed else 0


if __name__ == "__main__":
    sys.exit(main())
