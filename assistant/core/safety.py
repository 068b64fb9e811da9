"""Text in the library that speaks to a language model instead of to a reader.

A document can carry instructions aimed at whatever model reads it ("ignore previous
instructions and ..."), visibly or hidden (an HTML comment, zero-width characters splitting
the words). Such lines are never evidence: the model is not shown them (a placeholder says
text was withheld) and the citation check does not count them as support, so a model that
obeys one anyway cannot pass its words off as something the library says. Citations still
open the passage as written, so nothing is hidden from the reader.

The patterns are deliberately narrow (phrases a document for school leaders has no reason to
contain); they are one layer, behind fencing passages as data in the prompt and checking every
sentence of the answer.
"""

from __future__ import annotations

import re

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,60}?\b(?:instructions?|prompts?|rules?|"
    r"guidelines?)\b"
    r"|\b(?:system prompt|developer mode|jailbreak|prompt injection)\b"
    r"|\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|llms?|"
    r"language models?|assistants?|chatbots?|bots?)\b"
    r"|\byou are now\b"
    r"|\b(?:new|updated)\s+instructions?\s*:"
    r"|^\s*(?:system|assistant)\s*:"
    r"|<\s*/?\s*(?:passages?|question|system|instructions?)\b",
    re.IGNORECASE | re.MULTILINE,
)
WITHHELD = "[text addressed to AI systems withheld]"


def visible(text: str) -> str:
    """The text a reader sees: no HTML comments, no invisible formatting characters."""
    return _INVISIBLE.sub("", _COMMENT.sub("", text))


def instruction_like(line: str) -> bool:
    """True for text that addresses a model, in plain sight or hidden (in a comment, or with
    invisible characters breaking up its words)."""
    return bool(_INSTRUCTION.search(line) or _INSTRUCTION.search(visible(line)))


def without_instructions(text: str, placeholder: str = WITHHELD) -> str:
    """`text` made visible, each line that addresses a model replaced by `placeholder`."""
    lines = [(line, visible(line)) for line in text.split("\n")]
    return "\n".join(placeholder if instruction_like(raw) else seen for raw, seen in lines)


def drop_instruction_lines(text: str) -> str:
    """`text` with each line that addresses a model, or that no reader sees, emptied; every
    other line byte for byte."""

    def hidden(line: str) -> bool:
        return instruction_like(line) or (bool(line.strip()) and not visible(line).strip())

    return "\n".join("" if hidden(line) else line for line in text.split("\n"))
