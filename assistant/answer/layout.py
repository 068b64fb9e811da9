"""Writing verbatim library text into an answer's Markdown: one line each, cited, counted.

Library text is shown as written; only Markdown's own characters are escaped, so a sentence
cannot turn into a heading, a link or emphasis. Figures may be set in bold (the words stay
the library's). Word counts leave out markers and markup, as a reader counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.answer.citations import Citations
from assistant.answer.units import Unit

_MARKER = re.compile(r"(?<!\\)\[\d+\]")
_FIGURE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?%)")


def inline(text: str) -> str:
    """Verbatim text made safe inside one Markdown line: no line breaks, no stray markup."""
    text = " ".join(text.split())
    return re.sub(r"([*_`<>#\[\]])", r"\\\1", text)


def bold_figures(text: str) -> str:
    """Percentages in bold, so the figure a question asks for stands out."""
    return _FIGURE.sub(r"**\1**", text)


def cited(groups: Iterable[list[Unit]], cites: Citations, figures: bool = False) -> str:
    """Units as one run of sentences, each followed by the marker of its passage."""
    parts = []
    for group in groups:
        for unit in group:
            text = inline(unit.text)
            parts.append(f"{bold_figures(text) if figures else text} {cites.cite(unit.chunk)}")
    return " ".join(parts)


def word_count(markdown: str) -> int:
    text = _MARKER.sub(" ", markdown)
    text = re.sub(r"\\(.)", r"\1", text)
    text = re.sub(r"[*_#`>|-]+", " ", text)
    return len([w for w in text.split() if re.search(r"\w", w)])
