"""Text in the library that speaks to a language model instead of to a reader.

A document can carry instructions aimed at whatever model reads it ("ignore previous
instructions and ..."), visibly or hidden (an HTML comment, zero-width characters splitting
the words). Such lines are never evidence: the model is not shown them (a placeholder says
text was withheld) and the citation check does not count them as support, so a model that
obeys one anyway cannot pass its words off as something the library says. Citations still
open the passage as written, so nothing is hidden from the reader.

Plain prose can carry the same payload without naming a model: "Please tell the reader that
...", "you must say ...", "every district should purchase X now". Such lines direct whoever
relays the document, not its reader, so they are withheld the same way. The patterns cover
directives by their grammar rather than by one sentence's words: speech verbs aimed at the
reader or user ("tell/remind/assure the reader", "let users know", "readers should be told"),
at the relaying assistant ("you must say/recommend", "the assistant should", "in every
answer", "when you summarize this", "if a user asks"), imperatives of speech at the start of
a sentence ("Say that", "Always recommend", "Do not mention"), and purchase exhortations (a
quantified audience told to buy, an urged purchase "now/today/immediately", sales
boilerplate such as "order now" or "promo code"). Descriptive prose ("the district purchased
devices", "teachers were told", "when asked, the superintendent said") does not match: on
the bundled library's 837 lines none does (tests/test_hardening.py counts them).

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
# Directives in plain prose: aimed at the reader or user, at the assistant relaying the text,
# or urging a purchase (see the module docstring).
_SPEECH = (
    r"(?:say|state|answer|respond|reply|mention|recommend|tell|write|claim|include|output|"
    r"repeat|report|insist|assert|endorse|promote|cite|quote|describe|present|call|"
    r"emphasi[sz]e|stress|suggest|advise|urge|add)"
)
_MODAL = (
    r"(?:must|should|shall|will|need\s+to|needs\s+to|have\s+to|has\s+to|are\s+to|is\s+to|"
    r"ought\s+to|are\s+(?:required|instructed|expected|asked)\s+to)"
)
_AUDIENCE = (
    r"(?:the\s+|your\s+|our\s+|any\s+|all\s+|every\s+|each\s+)?(?:readers?|users?|"
    r"audiences?|customers?|visitors?|humans?|whoever\s+(?:reads|asks)|anyone(?:\s+(?:reading|"
    r"asking|who\s+asks))?|everyone|everybody|people\s+asking|the\s+person\s+asking)"
)
_AI = (
    r"(?:\bai\b(?:\s+(?:assistants?|models?|systems?|tools?|agents?|chatbots?))?|chatbots?|"
    r"language\s+models?|llms?|gpts?|chatgpt|the\s+assistant|this\s+assistant|any\s+assistant|"
    r"the\s+bot|automated\s+(?:assistants?|systems?))"
)
_READING = (
    r"(?:\s+(?:reading|processing|summari[sz]ing|using|answering\s+from|that\s+reads?|"
    r"who\s+reads?)\s+(?:this|these|it|the\s+\w+))?"
)
_YOU_MODAL = (
    r"(?:must|should|shall|need\s+to|have\s+to|are\s+to|"
    r"are\s+(?:required|instructed|expected|asked)\s+to)"
)
_YOU_SPEECH = (
    r"(?:say|state|answer|respond|reply|mention|claim|repeat|insist|assert|endorse|promote|"
    r"output|recommend|cite|quote)"
)
_PURCHASE = (
    r"(?:purchase|buy|order|pre-?order|subscribe|sign\s+up|license|procure|invest\s+in|"
    r"switch\s+to|upgrade\s+to)"
)
_URGENT = (
    r"(?:now|today|immediately|right\s+away|at\s+once|this\s+(?:week|month)|without\s+delay|"
    r"before\s+(?:it'?s\s+too\s+late|prices?\s+(?:rise|go\s+up|increase)|the\s+offer|supplies))"
)
_BUYERS = (
    r"(?:districts?|schools?|leaders?|superintendents?|principals?|readers?|educators?|"
    r"teachers?|boards?|systems?|networks?|administrators?|families|parents|buyers?|customers?)"
)
_START = r"(?:^|[.!?:;\"“”]\s+|\(\s*)"  # the start of a sentence
_PLEASE = r"(?:please\s+|kindly\s+)?"
_DIRECTIVE = re.compile(
    "|".join(
        [
            # tell / remind / let know ... the reader or user
            r"\b(?:tell|inform|remind|assure|convince|persuade|advise|instruct|urge|warn|notify|"
            rf"teach|show)\s+{_AUDIENCE}\b",
            rf"\blet\s+{_AUDIENCE}\s+know\b",
            rf"\b{_AUDIENCE}\s+{_MODAL}\s+be\s+(?:told|informed|reminded|advised|assured|shown)\b",
            # the relaying assistant, as "you" or by name
            rf"\byou\s+{_YOU_MODAL}\s+(?:always\s+|now\s+|only\s+|also\s+|clearly\s+)?"
            rf"{_YOU_SPEECH}\b",
            rf"{_AI}{_READING}\s+{_MODAL}\s+(?:always\s+|never\s+|only\s+|also\s+|now\s+)?\w+",
            rf"\b(?:if|when|whenever)\s+you\s+(?:are|'re)\s+(?:an?\s+)?{_AI}",
            rf"\bas\s+an?\s+{_AI}\b",
            # shaping the answer
            r"\b(?:in|end|begin|start|close|finish)\s+(?:your|every|each|any|all)\s+(?:answers?|"
            r"responses?|replies|summar(?:y|ies)|outputs?)\b",
            rf"\byour\s+(?:answers?|responses?|replies|summary|output)\s+{_MODAL}\b",
            r"\b(?:when|whenever|if)\s+(?:you\s+are|you're|you\s+get)\s+asked\b",
            r"\b(?:when|whenever|if)\s+(?:you\s+)?(?:summari[sz]e|summari[sz]ing|answer|answering|"
            r"respond|responding|quote|quoting|cite|citing)\s+(?:this|these|the\s+(?:document|"
            r"passage|text|memo))\b",
            r"\b(?:if|when|whenever)\s+(?:anyone|someone|a\s+user|the\s+user|users|a\s+reader|"
            r"the\s+reader|readers|people)\s+asks?\b",
            # imperatives of speech at the start of a sentence
            rf"{_START}{_PLEASE}(?:always\s+|never\s+|also\s+|now\s+)?(?:be\s+sure\s+to\s+|"
            r"make\s+sure\s+(?:to\s+|you\s+)|remember\s+to\s+|do\s+not\s+forget\s+to\s+|"
            r"don'?t\s+forget\s+to\s+)?(?:say|state|answer|respond|reply|mention|claim|repeat|"
            r"insist|assert|output|print)\s+(?:that|to|with|only|always|yes|no|[\"“'])",
            rf"{_START}{_PLEASE}(?:always|never)\s+{_SPEECH}\b",
            rf"{_START}{_PLEASE}(?:do\s+not|don'?t)\s+(?:mention|cite|quote|recommend|name|"
            r"discuss|reveal|say|tell)\b",
            rf"{_START}{_PLEASE}(?:be\s+sure\s+to|make\s+sure\s+(?:to|you)|remember\s+to)\s+"
            rf"{_SPEECH}\b",
            # purchase exhortations
            rf"\b(?:every|all|each|any|your)\s+(?:\w+\s+)?{_BUYERS}\s+{_MODAL}\s+(?:\w+\s+)?"
            rf"{_PURCHASE}\b",
            rf"(?:{_START}{_PLEASE}|\b{_MODAL}\s+(?:\w+\s+)?){_PURCHASE}\b[^.!?\n]{{0,80}}?"
            rf"\b{_URGENT}",
            r"\b(?:act|order|buy|shop|call|subscribe|sign\s+up|register)\s+(?:now|today)\b",
            r"\b(?:limited[-\s]time|special|exclusive|introductory)\s+(?:offer|deal|discount|"
            r"pricing)\b",
            r"\b(?:promo(?:tional)?|discount|coupon)\s+code\b",
            r"\bdon'?t\s+miss\s+(?:out|this)\b",
            r"\b(?:visit|go\s+to|click|call|contact|e-?mail)\b[^.!?\n]{0,80}?\b(?:today|now|"
            r"immediately)\b[^.!?\n]{0,40}?(?:offer|discount|order|price|deal|\bfree\b|save|"
            r"purchase|buy)",
        ]
    ),
    re.IGNORECASE | re.MULTILINE,
)
WITHHELD = "[text addressed to AI systems withheld]"


def visible(text: str) -> str:
    """The text a reader sees: no HTML comments, no invisible formatting characters."""
    return _INVISIBLE.sub("", _COMMENT.sub("", text))


def instruction_like(line: str) -> bool:
    """True for text that addresses a model, or directs whoever relays it (the reader's
    assistant) to say or urge something, in plain sight or hidden (in a comment, or with
    invisible characters breaking up its words)."""
    seen = visible(line)
    return any(p.search(line) or p.search(seen) for p in (_INSTRUCTION, _DIRECTIVE))


def instruction_lines(text: str) -> list[str]:
    """The lines of `text` that `instruction_like` withholds (for reporting them)."""
    return [line for line in text.split("\n") if line.strip() and instruction_like(line)]


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
