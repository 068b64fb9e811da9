"""Pure helpers for the Streamlit app: labels, escaping, starter questions, history.

No Streamlit import here, so every rule the app follows when it shows library text can be
unit-tested. The one safety rule: text that comes from a document (or a user) is shown as
text, never as HTML. The app shows passages with `st.text`; wherever a Markdown-rendering
element is unavoidable (expander labels, captions, headings), it goes through
`escape_markdown` first, so a document containing `<script>` or `**` shows those characters
literally.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assistant.core.backends import backend_label  # noqa: F401  (the app's selector)
from assistant.core.labels import (  # noqa: F401  (re-exported for the pages)
    escape_markdown,
    pages_label,
    verification_note,
)
from assistant.core.types import Citation, Filters, Turn

_SECTION_SEP = re.compile(r"\s+[>›]\s+")
# What Streamlit's Markdown gives meaning to beyond the composer's own markup (bold, list
# items, headings, [n]): strikethrough, math, directives (`:red[...]`), images and links,
# inline HTML and autolinks. A colon before a letter may open a directive whatever follows
# the name (a composer's own escaping turns `[` into `\[`, and `:red` alone is still a
# directive), so each is escaped. Shortcodes (`:material/warning:`, `:smile:`) are rewritten
# from the parsed text, past any escape: they become inline code.
_SHORTCODE = re.compile(r"(:[A-Za-z][\w+-]*(?:/[\w+-]+)?:)")
_INERT = re.compile(r"~|\$|:(?=[A-Za-z])|!(?=\\?\[)|(?<!\\)\](?=\()|<")
_QUESTION = re.compile(r"^(?:Question|Q)\s*(\d+)\b", re.IGNORECASE)


# One line in the sidebar when no model is configured: what a model adds and how to connect one.
MODEL_HINT = (
    "With a language model, answers are written in plain words for your question, and every "
    "sentence is still checked against the passage it cites. Choose one above: a local Ollama "
    "model (`ollama pull llama3.1`) or any OpenAI-compatible endpoint (set OPENAI_BASE_URL); "
    'the README\'s "Language models" section has the setup.'
)
_MARKER = re.compile(r"(?<!\\)\[(\d+)\]")


def split_citations(answer: Any) -> tuple[list[Citation], list[Citation]]:
    """The citations the answer's own [n] markers use, and those only "More from the library"
    uses: sources shown under an answer are the sources it cites."""
    used = {int(n) for n in _MARKER.findall(answer.answer)}
    mine = [c for c in answer.citations if c.n in used]
    return mine, [c for c in answer.citations if c.n not in used]


def inert_markdown(markdown: str | None) -> str:
    """An answer's Markdown with the syntax its library text may carry made literal.

    A composer quotes library text inside its own Markdown (bold district names, list
    items, [n] markers), so the answer cannot be escaped whole like a label; what it never
    writes itself is escaped here: `~~x~~` would strike text through, `:red[x]` colour it,
    `$x$` typeset math, `![](url)` fetch an image from outside. Shortcodes (`:material/warning:`,
    `:smile:`) are replaced after parsing, from the text itself, so a backslash does not stop
    them (checked in Chromium): they are shown as inline code, which no plugin rewrites.
    """
    if not markdown:
        return ""
    out = []
    for n, part in enumerate(_SHORTCODE.split(markdown)):
        if n % 2:
            out.append(f"`{part}`")
        else:
            out.append(_INERT.sub(lambda m: "\\" + m.group(0), part))
    return "".join(out)


def short_title(title: str, limit: int = 48) -> str:
    """A long title cut to fit a label, keeping enough of it to tell documents apart.

    Two documents share the name "Look Both Ways" (the paper and the blog's brief), so the
    name alone is not enough: keep the subtitle's first words, drop a trailing parenthetical,
    and cut at a word boundary with an ellipsis.
    """
    title = " ".join((title or "").split())
    if len(title) <= limit:
        return title
    if "(" in title and title.index("(") > 0:
        title = title[: title.index("(")].rstrip(" :;,-—")
        if len(title) <= limit:
            return title
    cut = title[: limit - 1].rsplit(" ", 1)[0].rstrip(" :;,-—")
    return f"{cut}…"


def short_section(section: str) -> str:
    """A section path cut to its ends: 'Question 3: … > Why X? > Story' -> 'Question 3 › Story'."""
    parts = [p for p in _SECTION_SEP.split((section or "").strip()) if p]
    if len(parts) <= 1:
        return (section or "").strip()
    match = _QUESTION.match(parts[0])
    lead = f"Question {match.group(1)}" if match else parts[0]
    return f"{lead} › {parts[-1]}"


def citation_label(citation: Citation) -> str:
    """Short plain-text label for a citation: '[n] Title — Section (pp. x-y)'.

    Long titles and section paths are shortened (`citation_source` gives them in full).
    Plain text: escape it before handing it to an element that renders Markdown.
    """
    label = f"[{citation.n}] {short_title(citation.title)}"
    if citation.section:
        label += f" — {short_section(citation.section)}"
    if pages := pages_label(citation.pages):
        label += f" {pages}"
    return label


def citation_source(citation: Citation) -> str:
    """One plain-text line saying where a passage comes from: full title, section, pages."""
    parts = [citation.title]
    if citation.section:
        parts.append(citation.section)
    line = " — ".join(parts)
    if pages := pages_label(citation.pages):
        line += f" {pages}"
    return line


def document_byline(doc: Mapping[str, Any]) -> str:
    """'Authors · Publisher · Date · Licence' for a library document (missing parts skipped)."""
    authors = doc.get("authors") or ()
    if isinstance(authors, str):
        authors = (authors,)
    parts = [", ".join(a for a in authors if a)]
    parts += [str(doc.get(key) or "") for key in ("publisher", "date")]
    if doc.get("licence"):
        parts.append(f"Licence: {doc['licence']}")
    return " · ".join(p for p in parts if p)


def starter_questions() -> list[str]:
    """Questions a superintendent might start with; each is answerable from the library."""
    return [
        "How have other districts weighed need versus readiness when choosing where to pilot?",
        "What did Fulton County Schools do, and what did they learn?",
        "What do the survey numbers say about moving fast versus slow from pilot to scale?",
        "What questions should I ask my cabinet about building capacity internally versus "
        "buying from outside partners?",
        'What does the "Scale What?" post say about whether we are ready to scale?',
        "What are the six areas of change in the roadmap for moving personalized learning forward?",
    ]


def history_turns(messages: Iterable[Mapping[str, Any]]) -> list[Turn]:
    """The conversation so far as Turns (oldest first), from the app's stored messages."""
    return [
        Turn(m["role"], m["content"])
        for m in messages
        if m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
    ]


def make_filters(tensions: Sequence[str] = (), doc_ids: Sequence[str] = ()) -> Filters | None:
    """Filters for the sidebar selections, or None when nothing is selected."""
    if not tensions and not doc_ids:
        return None
    return Filters(tensions=tuple(tensions), doc_ids=tuple(doc_ids))
