"""Writing verbatim library text into an answer's Markdown.

Library text is shown as written; only Markdown's own characters are escaped, so a sentence
cannot turn into a heading, a link or emphasis. Word counts leave out markers and markup, as
a reader counts.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"(?<!\\)\[\d+\]")


def inline(text: str) -> str:
    """Verbatim text made safe inside one Markdown line: no line breaks, no stray markup."""
    text = " ".join(text.split())
    return re.sub(r"([*_`<>#\[\]])", r"\\\1", text)


def word_count(markdown: str) -> int:
    text = _MARKER.sub(" ", markdown)
    text = re.sub(r"\\(.)", r"\1", text)
    text = re.sub(r"[*_#`>|-]+", " ", text)
    return len([w for w in text.split() if re.search(r"\w", w)])
