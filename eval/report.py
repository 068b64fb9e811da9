"""Plain-text tables of `lbw eval` reports: one set (`format_report`) or several (`format_sets`).

The several-set table puts metrics in rows and sets in columns (ours, and the stock recipe
where it has a figure), then the tune - test gap of each headline figure. Question ids of
failures are listed for the tune split only: the test split is read as figures, never
question by question (eval/blind/README.md); `--json` carries every id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eval.questions import doc_group_order, kind_key

TARGET_OVERALL = 0.95
TARGET_PER_KIND = 0.90


def _fmt_rate(rate: float | None) -> str:
    return "  -  " if rate is None else f"{rate:.3f}"


def _mark(rate: float | None, target: float) -> str:
    return "" if rate is None else ("PASS" if rate >= target else "FAIL")


def format_report(report: dict[str, Any]) -> str:
    """One set: hit rate per kind and doc group for ours and stock, then recall and scope."""
    ours, stock, answers = report["ours"], report.get("stock"), report["answers"]
    kinds = sorted(set(ours["by_kind"]) | set((stock or {}).get("by_kind", {})), key=kind_key)
    groups = doc_group_order(
        set(ours.get("by_doc_group", {})) | set((stock or {}).get("by_doc_group", {}))
    )
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
    for table, names, prefix in (("by_kind", kinds, ""), ("by_doc_group", groups, "doc: ")):
        for name in names:
            mine = ours.get(table, {}).get(name, {})
            theirs = (stock or {}).get(table, {}).get(name, {})
            lines.append(
                row(
                    f"  {prefix}{name}",
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
    if "cited_any_rate" in answers:
        lines.append(
            f"{'':<22}{'':>4}  {_fmt_rate(answers['cited_any_rate']):>6}  {'':>6}  "
            "at least one evidence string cited"
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
    if answers.get("partial"):
        lines.append(
            f"partial labelled partial: {answers['partial_labelled']}/{answers['partial']} "
            f"({_fmt_rate(answers['partial_rate'])})"
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
    if report.get("pairs"):
        lines.append(_pairs_line(report["pairs"]))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- several sets

LABEL, OURS, STOCK = 30, 11, 7


def _rate_n(rate: float | None, n: int | None = None) -> str:
    if rate is None:
        return "-"
    return f"{rate:.3f}" + (f" ({n})" if n is not None else "")


Cell = Callable[[Mapping[str, Any]], tuple[str, str]]  # one set's report -> (ours, stock)


def _group_cell(table: str, name: str) -> Cell:
    def cell(r: Mapping[str, Any]) -> tuple[str, str]:
        mine = r["ours"].get(table, {}).get(name)
        theirs = (r.get("stock") or {}).get(table, {}).get(name)
        return (
            _rate_n(mine["hit_rate"], mine["n"]) if mine else "",
            _rate_n(theirs["hit_rate"]) if theirs else "",
        )

    return cell


def _stock_rate(r: Mapping[str, Any], *path: str) -> str:
    value: Any = r.get("stock")
    for key in path:
        value = (value or {}).get(key)
    return _rate_n(value) if r.get("stock") else ""


def _rows(reports: Mapping[str, Mapping[str, Any]], k: int) -> list[tuple[str, Cell]]:
    kinds = sorted({kd for r in reports.values() for kd in r["ours"]["by_kind"]}, key=kind_key)
    groups = doc_group_order({g for r in reports.values() for g in r["ours"]["by_doc_group"]})
    a = "answers"
    rows: list[tuple[str, Cell]] = [
        ("questions", lambda r: (str(r["questions"]), "")),
        (
            "  in library / off library",
            lambda r: (f"{r[a]['in_scope']} / {r[a]['out_of_scope']}", ""),
        ),
        (
            f"evidence in top {k}",
            lambda r: (
                _rate_n(r["ours"]["hit_rate"], r["ours"]["scored"]),
                _stock_rate(r, "hit_rate"),
            ),
        ),
    ]
    rows += [(f"  kind: {kind}", _group_cell("by_kind", kind)) for kind in kinds]
    rows += [(f"  doc: {group}", _group_cell("by_doc_group", group)) for group in groups]
    rows += [
        (
            "district recall, retrieval",
            lambda r: (
                _rate_n(r["ours"]["district"]["recall"], r["ours"]["district"]["required"]),
                _stock_rate(r, "district", "recall"),
            ),
        ),
        ("district recall, citations", lambda r: (_rate_n(r[a]["district"]["recall"]), "")),
        (
            "in-library refused",
            lambda r: (f"{r[a]['in_scope_refused']}/{r[a]['in_scope']}", ""),
        ),
        ("  rate", lambda r: (_rate_n(r[a]["in_scope_refused_rate"]), "")),
        (
            "off-library declined",
            lambda r: (_rate_n(r[a]["out_of_scope_rate"], r[a]["out_of_scope"]), ""),
        ),
        (
            "partial labelled partial",
            lambda r: (_rate_n(r[a]["partial_rate"], r[a]["partial"]), ""),
        ),
        (
            "evidence cited in answer",
            lambda r: (_rate_n(r[a]["cited_any_rate"], r[a]["cited_scored"]), ""),
        ),
        ("  every evidence span cited", lambda r: (_rate_n(r[a]["cited_hit_rate"]), "")),
    ]
    return rows


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _pairs_line(pairs: Mapping[str, Any]) -> str:
    return (
        f"grading pairs: {pairs['count']} written to {pairs['dir']} "
        "(key.jsonl says which label is which: keep it from the graders)"
    )


def format_sets(result: Mapping[str, Any], ids_for: Sequence[str] = ("tune",)) -> str:
    """Several sets side by side, then the tune - test gap; failure ids for `ids_for` only."""
    reports: Mapping[str, Mapping[str, Any]] = result["sets"]
    names = list(reports)
    with_stock = any(r.get("stock") for r in reports.values())
    width = OURS + (2 + STOCK if with_stock else 0)
    lines = [f"Question sets (top k = {result['k']}):"]
    lines += [
        f"  {n:<8} {r['questions']:>4} questions  {r['questions_path']}" for n, r in reports.items()
    ]
    lines.append("")
    lines.append(" " * LABEL + "".join(f"  {n:^{width}}" for n in names))
    sub = f"{'ours':>{OURS}}" + (f"  {'stock':>{STOCK}}" if with_stock else "")
    lines.append(" " * LABEL + "".join(f"  {sub}" for _ in names))
    for label, cell in _rows(reports, result["k"]):
        cells = []
        for n in names:
            mine, theirs = cell(reports[n])
            cells.append(f"  {mine:>{OURS}}" + (f"  {theirs:>{STOCK}}" if with_stock else ""))
        lines.append(f"{label:<{LABEL}}" + "".join(cells))
    lines.append("(n) after a rate: the questions it counts.")
    gap = result.get("gap")
    if gap:
        lines.append("")
        lines.append(
            "tune - test gap: "
            + "; ".join(f"{label} {_signed(g['gap'])}" for label, g in gap.items())
        )
    stock = next((r["stock"] for r in reports.values() if r.get("stock")), None)
    if stock:
        lines.append(
            f"stock recipe: {stock['chunks']} chunks, built in {stock['build_seconds']:.1f} s"
        )
    for n in ids_for:
        r = reports.get(n)
        if r is None:
            continue
        a = r["answers"]
        for label, ids in (
            ("retrieval misses (ours)", r["ours"]["misses"]),
            ("in-library refused", a["in_scope_refused_ids"]),
            ("off-library answered", a["out_of_scope_answered_ids"]),
        ):
            if ids:
                lines.append(f"{n} {label}: {', '.join(ids)}")
    if any(n not in ids_for for n in names):
        lines.append(f"(question ids are listed for {', '.join(ids_for)} only; --json has all)")
    if result.get("pairs"):
        lines.append(_pairs_line(result["pairs"]))
    return "\n".join(lines)
