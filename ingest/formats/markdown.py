"""Markdown: headings (markdown-it-py) as the section path; tables and code blocks whole.

Each block is the Markdown source of one paragraph, list item, table or code block, taken
verbatim by line range, so a citation reads exactly as the file does.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

from ingest.formats.base import HeadingPath, ReadResult, tidy
from ingest.formats.limits import Budget, count_lines

_WHOLE = {"table_open": "table", "fence": "code", "code_block": "code"}


def read_markdown(text: str, budget: Budget | None = None) -> ReadResult:
    budget = budget or Budget("the Markdown file")
    count_lines(text, budget)  # before it is parsed
    text = tidy(text, keep_indent=True)
    budget.tick()
    md = MarkdownIt("commonmark").enable("table")
    lines = text.split("\n")
    tokens = md.parse(text)
    budget.tick()
    heads = HeadingPath()
    blocks = []
    title = None
    i = 0
    while i < len(tokens):
        if i % 2000 == 0:
            budget.tick()
        tok = tokens[i]
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            heading = tokens[i + 1].content.strip()
            if heading:
                if level == 1 and title is None and not blocks and not heads.path:
                    title = heading
                blocks += heads.enter(level, heading)
            i += 3
            continue
        kind = _WHOLE.get(tok.type)
        if tok.type in ("paragraph_open", *_WHOLE) and tok.map:
            start, end = tok.map
            source = "\n".join(lines[start:end]).strip()
            if tok.type == "paragraph_open":
                source = " ".join(p.strip() for p in source.split("\n"))  # soft breaks
            if source:
                blocks.append(heads.block(source, kind=kind or "narrative"))
            if kind == "table":
                while tokens[i].type != "table_close":
                    i += 1
            elif tok.type == "paragraph_open":
                i += 2  # inline, paragraph_close
        i += 1
    return ReadResult("markdown", blocks, title=title)
