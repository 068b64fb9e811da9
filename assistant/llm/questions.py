"""Questions for a document a user adds, written by the configured language model at
`lbw add`, so retrieval can find its passages in a leader's words as it finds the bundled
library's (whose questions independent writers wrote; corpus/questions/README.md).

The model's output is checked like any model output: each line must be one question (ends
with "?", at most MAX_CHARS, no markup or tags), must not address a model or direct a reader
(assistant.core.safety), and at most `count` per passage are kept. A passage that says
nothing gets none. Without a model there are none, and the document is found by its
passages' own words only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from assistant.core.safety import instruction_like, without_instructions
from assistant.core.types import Chunk
from assistant.llm.prompts import defuse, template

log = logging.getLogger("lbw.llm")

MAX_CHARS = 200  # a written question longer than this is not one a leader types
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|Q\d*[:.])\s*")
_MARKUP = re.compile(r"[<>{}\[\]`|]|https?://")


def question_messages(chunk: Chunk, count: int) -> list[BaseMessage]:
    source = " — ".join(p for p in (chunk.title, chunk.section) if p)
    system = template("questions_system").format(count=count, chars=MAX_CHARS)
    user = template("questions_user").format(
        source=defuse(source), passage=defuse(without_instructions(chunk.text))
    )
    return [SystemMessage(system), HumanMessage(user)]


def checked_questions(reply: str, count: int) -> list[str]:
    """The questions a reply holds that pass the checks, at most `count`, in order."""
    out: list[str] = []
    for line in reply.splitlines():
        text = " ".join(_BULLET.sub("", line).split()).strip('"“”')
        if not text or not text.endswith("?") or len(text) > MAX_CHARS:
            continue
        if text.count("?") > 1 or _MARKUP.search(text) or instruction_like(text):
            continue
        if len(text.split()) < 3 or text.lower() in (q.lower() for q in out):
            continue
        out.append(text)
        if len(out) == count:
            break
    return out


def write_questions(
    model: BaseChatModel, chunks: Iterable[Chunk], count: int
) -> dict[str, list[str]]:
    """Each passage's checked questions, by chunk id. A passage whose call fails gets none
    (logged): the document is still added, and found by its own words."""
    found: dict[str, list[str]] = {}
    if count <= 0:
        return found
    for chunk in chunks:
        try:
            reply = model.invoke(question_messages(chunk, count))
        except Exception as exc:  # a model that errs or times out: no questions for it
            log.warning("No questions written for passage %s (%s)", chunk.id, type(exc).__name__)
            continue
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        questions = checked_questions(content, count)
        if questions:
            found[chunk.id] = questions
    return found
