"""Text repair and boilerplate removal.

ftfy fixes the general damage (mis-decoded UTF-8, odd whitespace). One kind it cannot undo:
curly quotes and dashes whose UTF-8 encoding (E2 80 xx) was read as Latin-1 and then lost
its last two bytes, leaving a bare "â" (`donât`, `teachersâbut`, `âwillâ`). Which character
was lost is recoverable from the neighbours, so `repair_lost_bytes` decides by context:

- letter + â + contraction/possessive ending (s, t, re, ve, ll, d, m) + non-letter -> ’
- letter + â + letter -> — (an em dash joining two words)
- start/space/opening bracket + â + word character -> “ (opening quote)
- word character or punctuation + â + space/punctuation/end -> ” if a quote is open, else ’
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import ftfy

_CONTRACTION = re.compile(r"(?<=[A-Za-z])â(?=(?:s|t|re|ve|ll|d|m)(?![A-Za-z]))")
_OPEN = re.compile(r"(?:(?<=^)|(?<=[\s(\[{—-]))â(?=\w)", re.MULTILINE)
_DASH = re.compile(r"(?<=[A-Za-z])â(?=[A-Za-z])")
_CLOSE = re.compile(r"(?<=[\w.,!?;:])â(?=[\s.,;:!?)\]}]|$)", re.MULTILINE)


@dataclass
class RepairReport:
    text: str
    repaired: int


def repair_lost_bytes(text: str) -> RepairReport:
    """Restore quotes, apostrophes and dashes lost as a bare 'â'; count the repairs."""
    if "â" not in text:
        return RepairReport(text, 0)
    count = 0

    def sub(pattern: re.Pattern[str], repl: str, s: str) -> str:
        nonlocal count
        s, n = pattern.subn(repl, s)
        count += n
        return s

    out = sub(_CONTRACTION, "’", text)
    out = sub(_OPEN, "“", out)
    out = sub(_DASH, "—", out)
    # Closing marks: a closing double quote when a “ is open earlier in the same paragraph.
    result = ""
    last = 0
    for m in _CLOSE.finditer(out):
        result += out[last : m.start()]
        paragraph = result[result.rfind("\n") + 1 :]
        result += "”" if paragraph.count("“") > paragraph.count("”") else "’"
        last = m.end()
        count += 1
    pieces = [result, out[last:]]
    return RepairReport("".join(pieces), count)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_FOOTNOTE = re.compile(r"(?<=[a-z]{3})\d{1,2}(?=[a-z]{2})")


def base_repair(text: str) -> str:
    """ftfy for mis-decoded text (NFC), Unix newlines and no stray control characters; shared
    by `general_repair` and the readers of added files (ingest.formats.base.tidy).

    Curly quotes are kept as they are (uncurl_quotes=False): citations must read like the source.
    """
    text = ftfy.fix_text(text, uncurl_quotes=False, fix_latin_ligatures=True, normalization="NFC")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def general_repair(text: str) -> str:
    """`base_repair`, then footnote numbers glued between words dropped, then NFC."""
    text = base_repair(text)
    text = _FOOTNOTE.sub(" ", text)  # footnote numbers glued between words: "approach7in"
    return unicodedata.normalize("NFC", text)


# Web-page furniture that is never content. Each pattern matches a whole line.
_BOILERPLATE_LINE = [
    re.compile(r"^\s*Image:\s.*$"),  # image credits
    re.compile(r"^\s*(Photo|Image) credit:.*$", re.IGNORECASE),
    re.compile(r"^\s*Fill in your details below or click an icon to log in:.*$"),
    re.compile(r"^\s*You are commenting using your .* account\..*$"),
    re.compile(r"^\s*(Google\+ photo|Twitter picture|Facebook photo)\s*$"),
    re.compile(r"^\s*Connecting to %s\s*$"),
]
# A line from which the rest of the document is comments and widgets.
_TAIL_MARKERS = [
    re.compile(r"^\s*(One|\d+) thoughts? on “.*”?\s*$"),
    re.compile(r"^\s*Leave a Reply\s*$"),
    re.compile(r"^\s*Leave a Comment\s*$", re.IGNORECASE),
]


def strip_boilerplate(text: str) -> tuple[str, int]:
    """Drop comment sections, login widgets and image credits; return text and lines dropped."""
    lines = text.split("\n")
    dropped = 0
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _TAIL_MARKERS):
            dropped += sum(1 for rest in lines[i:] if rest.strip())
            lines = lines[:i]
            break
    kept = []
    for line in lines:
        if any(p.match(line) for p in _BOILERPLATE_LINE):
            dropped += 1
            continue
        kept.append(line)
    return "\n".join(kept).rstrip() + "\n", dropped


@dataclass
class CleanReport:
    text: str
    repaired_chars: int
    dropped_lines: int


def clean_text(raw: str) -> CleanReport:
    """The full cleaning pass used by ingest: general repair, lost-byte repair, boilerplate."""
    text = general_repair(raw)
    repaired = repair_lost_bytes(text)
    text, dropped = strip_boilerplate(repaired.text)
    return CleanReport(text, repaired.repaired, dropped)
