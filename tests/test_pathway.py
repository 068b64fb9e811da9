"""Pathways (Reflection Guide 2) from a team's CSV: clear messages naming the row for bad
files, team gaps and agreement, and the chart in both drawings."""

from __future__ import annotations

import re

import pytest

from assistant.framework.pathway import (
    COLUMNS,
    TENSION_IDS,
    InvalidPathway,
    Pathway,
    agreement,
    chart_png,
    csv_template,
    figure,
    parse_pathways,
    summarize,
    to_csv,
    widest_gaps,
)

HEADER = ",".join(COLUMNS)


def row(name: str, values: list[int | str]) -> str:
    return ",".join([name, *map(str, values)])


ANA = [2, 4, 3, 3, 1, 3, 4, 4, 3, 4, 2, 2, 1, 5]
BEN = [3, 5, 2, 2, 2, 4, 4, 5, 2, 5, 3, 2, 2, 4]


def test_template_parses_and_round_trips():
    people = parse_pathways(csv_template().encode())
    assert [p.name for p in people] == ["Your name"]
    assert all(people[0].now[t] == 3 for t in TENSION_IDS)
    team = parse_pathways("\n".join([HEADER, row("Ana", ANA), row("Ben", BEN)]).encode())
    assert parse_pathways(to_csv(team)) == team
    assert team[0].now["locus-of-control"] == 2 and team[0].want["sharing-learning"] == 5


def test_columns_in_any_order_with_a_bom_and_blank_lines():
    cols = list(reversed(COLUMNS))
    values = dict(zip(COLUMNS, ["Ana", *map(str, ANA)], strict=True))
    text = ",".join(cols) + "\n\n" + ",".join(values[c] for c in cols) + "\n"
    (ana,) = parse_pathways(b"\xef\xbb\xbf" + text.encode())
    assert ana.name == "Ana" and ana.gap("sharing-learning") == 4


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [row("Ana", ANA[:-1] + [7])],
            r"Row 2 \(Ana\): sharing-learning_want is '7'; enter a whole number from 1 to 5",
        ),
        (
            [row("Ana", ANA), row("Ben", BEN[:3] + [0] + BEN[4:])],
            r"Row 3 \(Ben\): pace_want is '0'",
        ),
        (
            [row("Ana", ANA[:5] + ["x"] + ANA[6:])],
            r"Row 2 \(Ana\): resource-allocation_want is 'x'",
        ),
        (
            [row("Ana", ANA[:5] + ["2.5"] + ANA[6:])],
            r"Row 2 \(Ana\): resource-allocation_want is '2.5'",
        ),
        (
            [row("Ana", ANA[:5] + [""] + ANA[6:])],
            r"Row 2 \(Ana\): resource-allocation_want is empty",
        ),
        ([row("", ANA)], r"Row 2: the name is empty"),
        ([row("Ana", ANA), row("ana", BEN)], r"Row 3 \(ana\): the name is already used on row 2"),
        ([row("Ana", [*ANA, 3])], r"Row 2 has 16 values but the header has 15 columns"),
        ([], r"has a header but no pathways"),
    ],
)
def test_bad_rows_are_named(lines, expected):
    with pytest.raises(InvalidPathway, match=expected):
        parse_pathways("\n".join([HEADER, *lines]).encode(), "team.csv")


def test_every_bad_row_is_listed_at_once():
    text = "\n".join([HEADER, row("Ana", ANA[:-1] + [9]), row("Ben", BEN[:-1] + [0])])
    with pytest.raises(InvalidPathway) as info:
        parse_pathways(text.encode())
    message = str(info.value)
    assert "Row 2 (Ana)" in message and "Row 3 (Ben)" in message


def test_missing_columns_are_named():
    header = HEADER.replace(",pace_now", "").replace(",pace_want", ",pace_goal")
    with pytest.raises(InvalidPathway, match=r"Row 1 .*missing column\(s\): pace_now, pace_want"):
        parse_pathways((header + "\n" + row("Ana", ANA)).encode(), "team.csv")


def test_wrong_encoding_names_the_row_and_byte():
    data = (
        "\n".join([HEADER, row("Ana", ANA)]).encode()
        + b"\n"
        + row("Jos\xe9", BEN).encode("latin-1")
    )
    with pytest.raises(InvalidPathway) as info:
        parse_pathways(data, "team.csv")
    message = str(info.value)
    assert re.search(r"Row 3 of team.csv is not UTF-8 text \(byte 0xE9 at byte \d+\)", message)
    assert "CSV UTF-8" in message


def test_empty_file():
    with pytest.raises(InvalidPathway, match="is empty"):
        parse_pathways(b"   \n")


def _person(name, now, want):
    return Pathway(
        name, dict(zip(TENSION_IDS, now, strict=True)), dict(zip(TENSION_IDS, want, strict=True))
    )


def test_gaps_and_agreement():
    team = [
        _person("A", [1, 3, 3, 3, 3, 3, 3], [5, 3, 3, 3, 3, 3, 4]),
        _person("B", [1, 1, 3, 3, 3, 3, 3], [5, 5, 3, 3, 3, 3, 3]),
    ]
    gaps = widest_gaps(team)
    assert [g.tension for g in gaps] == ["locus-of-control", "pace", "sharing-learning"]
    assert gaps[0].gap == 4 and gaps[1].gap == 2 and gaps[2].gap == 0.5
    most, least = agreement(team)
    assert least.tension == "pace"  # one person at 3 -> 3, the other at 1 -> 5
    assert most.spread == 0.0 and most.tension == "locus-of-control"
    assert summarize(team[:1])[0].spread == 0.0


def test_charts_draw_the_pathways_and_the_survey():
    team = [
        _person("A", [1, 2, 3, 4, 5, 4, 3], [5, 4, 3, 2, 1, 2, 3]),
        _person("B", [2] * 7, [3] * 7),
    ]
    findings = [{"tension": "pace", "median": 4, "mean": 3.6}]
    fig = figure(team, findings)
    names = [t.name for t in fig.data]
    assert "Team mean: where we are" in names and "Survey median" in names
    survey = next(t for t in fig.data if t.name == "Survey mean")
    assert list(survey.x)[1] == 3.6
    bold = [y for y in fig.data[-1].y if y.startswith("<b>")]
    assert len(bold) == 3  # the three widest gaps are marked
    png = chart_png(team, findings)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
