"""Numbers as a reader reads them, in digits or in words ("forty", "five million", "1.5
million", "58 percent"), each reduced to one canonical string so an answer's figure can be
looked for in its passage whichever way either writes it.

Why by hand: the number-word packages on PyPI (word2number, text2num) parse one number from
a string someone already isolated; here every figure in a sentence must be found, with its
span, and percentages kept apart from counts.
"""

from __future__ import annotations

import re

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_WORDS = "|".join(sorted([*UNITS, *SCALES], key=len, reverse=True))
_NUMBER_WORD_RUN = re.compile(
    rf"(?<![\w-])(?:{_WORDS})(?:(?:[\s-]+|\s+and\s+)(?:{_WORDS}))*(?!\w)", re.IGNORECASE
)
# A fraction is a figure too ("a third of respondents", "two-thirds", "a quarter").
_FRACTION = re.compile(
    r"(?<![\w-])(a|one|two|three)[\s-]+(half|halves|thirds?|quarters?|fifths?)(?!\w)", re.IGNORECASE
)
_PARTS = {"half": 2, "halves": 2, "third": 3, "quarter": 4, "fifth": 5}
_DIGITS = re.compile(
    r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)(\s?(?:%|percent\b)|\s+(?:hundred|thousand|million|billion)\b)?",
    re.IGNORECASE,
)
_PERCENT_AFTER = re.compile(r"\s?(?:%|percent\b)", re.IGNORECASE)


def _canon(value: float, percent: bool) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text + "%" if percent else text


def _word_value(run: str) -> float | None:
    total, current = 0.0, 0.0
    for word in re.split(r"[\s-]+", run.lower()):
        if word == "and" or not word:
            continue
        if word in UNITS:
            current += UNITS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in SCALES:
            total += (current or 1) * SCALES[word]
            current = 0
    return total + current


def numbers(text: str, skip_one: bool = False) -> set[str]:
    """Every number in `text`, canonical: "40", "5000000", "58%". `skip_one` leaves out a
    bare "one" (a pronoun or an article far more often than a figure: "one of the
    districts"), which an answer may write where its passage does not."""
    out: set[str] = set()
    for m in _DIGITS.finditer(text):
        value = float(m.group(1).replace(",", ""))
        tail = (m.group(2) or "").strip().lower()
        if tail in SCALES:
            value *= SCALES[tail]
        out.add(_canon(value, tail in ("%", "percent")))
    for m in _NUMBER_WORD_RUN.finditer(text):
        run = m.group(0)
        if skip_one and run.lower() == "one":
            continue
        if run.lower() in SCALES:  # "hundreds", a lone "million": no figure
            continue
        value = _word_value(run)
        if value is None:
            continue
        percent = bool(_PERCENT_AFTER.match(text, m.end()))
        out.add(_canon(value, percent))
    for m in _FRACTION.finditer(text):
        top = 1 if m.group(1).lower() in ("a", "one") else UNITS[m.group(1).lower()]
        part = m.group(2).lower()
        out.add(f"{top}/{_PARTS.get(part, _PARTS.get(part.rstrip('s'), 0))}")
    return out


# A count of things ("the seven tensions", "6 areas", "three infrastructure pieces"): a small
# number before a plural noun, up to two words between. The reply check lets a count of a
# list's items through; the offline answer leads with a list of that many items.
_COUNT = re.compile(
    r"(?<![\w.])(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"(?:\s+[a-z][\w-]*){0,2}?\s+([a-z][\w-]*s)\b",
    re.IGNORECASE,
)
# A span of time, money or repetition is not a count of things a list could hold: "the
# following three years" counted 3 and led a question about 3-year-old pilots with a list of
# three lessons (tune W1-017).
_NOT_THINGS = frozenset(
    "years months weeks days hours minutes seconds decades semesters terms quarters times "  # noqa: SIM905
    "dollars cents percent".split()
)


def counts(text: str) -> list[int]:
    """The counts of things in `text`, in order ("the seven tensions" -> [7])."""
    out = []
    for m in _COUNT.finditer(text):
        if m.group(2).lower() in _NOT_THINGS:
            continue
        word = m.group(1).lower()
        out.append(int(word) if word.isdigit() else UNITS[word])
    return out
