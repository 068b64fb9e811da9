"""What a file says to a model instead of its reader, found while the file is read.

Runs at the end of every reading (`read_document`), inside the file's reading budget, so a
re-read from the stored copy gives the same result as the add did:

- a document whose words alone would make more passages than LBW_MAX_DOC_PASSAGES is
  refused before the slower steps (a passage holds at most ingest.chunking.MAX_WORDS words);
- the lines that address a model or direct whoever relays the text
  (assistant.core.safety) are listed for the add's note; they stay in the document and are
  withheld from prompts and answers downstream;
- a title or section name is shown everywhere a passage is cited (the prompt's `Source:`
  line, the CLI's Sources), so one that reads as such an instruction is not kept: the title
  falls back to one made from the file name, a section name becomes a placeholder;
- invisible characters (zero-width, bidirectional controls, tag characters spelling hidden
  text) are removed from the text and the headings: no reader sees them, a model might.
"""

from __future__ import annotations

from assistant.core.safety import (
    hidden_text,
    instruction_like,
    instruction_lines,
    invisible_count,
    visible,
)
from ingest.formats.base import ReadResult
from ingest.formats.limits import Budget

HEADING_WITHHELD = "[section title withheld]"


def defuse(result: ReadResult, budget: Budget) -> ReadResult:
    """`result` checked and cleaned as the module docstring says (in place); its notes say
    what was found."""
    from ingest.chunking import MAX_WORDS

    words = sum(len(b.text.split()) for b in result.blocks)
    budget.count_passages(-(-words // MAX_WORDS), at_least=True)
    budget.tick()
    withheld: list[str] = []
    hidden: list[str] = []
    for block in result.blocks:
        withheld += instruction_lines(block.text, tick=budget.tick)
        if spelt := hidden_text(block.text).strip():
            hidden.append(spelt)
    result.withheld = withheld
    if result.title and instruction_like(result.title):
        result.notes.append(
            f"its title (“{_short(result.title)}”) addresses AI systems; a title made from "
            "the file name is used instead"
        )
        result.title = None
    renamed = 0
    invisible = 0
    for n, block in enumerate(result.blocks):
        if n % 1000 == 0:
            budget.tick()
        path = []
        for heading in block.path:
            if instruction_like(heading):
                renamed += 1
                heading = HEADING_WITHHELD
            invisible += invisible_count(heading)
            path.append(visible(heading))
        block.path = tuple(path)
        invisible += invisible_count(block.text)
        block.text = visible(block.text)
    if renamed:
        result.notes.append(
            f"{renamed} section title(s) address AI systems; they are shown as “{HEADING_WITHHELD}”"
        )
    if invisible:
        spelt = f" (hidden text in tag characters: “{_short(hidden[0])}”)" if hidden else ""
        result.notes.append(
            f"{invisible} invisible character(s) removed{spelt}; no reader sees them"
        )
    return result


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
