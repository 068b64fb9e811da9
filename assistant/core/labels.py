"""Plain-text labels shared by the app, the CLI and the charts: Markdown escaping, page
ranges, and the note saying which composer answered.

Here, below every view, so the CLI and the framework's charts need not import the app's
helpers. Text from a document (or a user) is shown as text, never as HTML: wherever a
Markdown-rendering element is unavoidable it goes through `escape_markdown` first.
"""

from __future__ import annotations

import re

from assistant.core.types import Answer

# Characters that Markdown (CommonMark + GFM), inline HTML, entities, LaTeX ($) or
# Streamlit's own directives (:red[...], :emoji:) give meaning to. CommonMark lets a
# backslash escape any ASCII punctuation, so escaping a few harmless ones costs nothing.
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~$&:=")
_SPECIAL_RE = re.compile("[" + re.escape("".join(sorted(_MARKDOWN_SPECIAL))) + "]")


def escape_markdown(text: str | None) -> str:
    """Backslash-escape every Markdown/HTML-significant character so `text` renders literally.

    For example `<b>*hi*</b>` becomes `\\<b\\>\\*hi\\*\\</b\\>`.
    """
    if not text:
        return ""
    return _SPECIAL_RE.sub(lambda m: "\\" + m.group(0), str(text))


def pages_label(pages: str | None) -> str:
    """'(pp. 10-12)' for a range, '(p. 10)' for one page, '' when unknown."""
    pages = (pages or "").strip()
    if not pages:
        return ""
    plural = any(sep in pages for sep in ("-", "–", ",", " "))
    return f"(pp. {pages})" if plural else f"(p. {pages})"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def verification_note(answer: Answer) -> str:
    """Plain text saying which composer answered and what checking the citations changed;
    empty when no language model is configured (the offline composer is the only one)."""
    v = answer.verification
    if not v.model:
        return ""
    removed = []
    if v.unsupported:
        removed.append(
            _count(len(v.unsupported), "sentence", "sentences")
            + " that the cited passages do not support"
        )
    if v.removed_markers:
        markers = ", ".join(f"[{n}]" for n in v.removed_markers)
        removed.append(
            _count(len(v.removed_markers), "citation marker", "citation markers")
            + f" that pointed to no passage ({markers})"
        )
    if answer.answered_by == "llm":
        note = f"Written by the language model {v.model}; every citation was checked against its passage"
        if v.reread:
            note += (
                f", and {_count(v.reread, 'sentence', 'sentences')} whose wording left "
                f"{'it' if v.reread == 1 else 'them'} in doubt re-read by the model against "
                "their passages"
            )
        if removed:
            note += ". Removed: " + "; ".join(removed)
        return note + "."
    note = f"Answered by the offline composer instead of {v.model}: {v.reason or 'no reason given'}"
    if removed:
        note += ". The model's answer had " + "; ".join(removed)
    return note + "."
