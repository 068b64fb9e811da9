"""The prompts, kept as reviewable data files in assistant/prompts/, and the messages built
from them.

Passages and questions are data: each sits inside its own tags, and any text in them that
looks like one of our tags is defused first (`<` becomes `‹`), so a document cannot close
the passages block and start speaking as the system; lines that address a model are withheld
(assistant.core.safety). Citations shown to users come from the
index, never from this text, so the defusing changes nothing a user reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from assistant.core.safety import without_instructions
from assistant.core.types import Chunk, Turn

NOT_IN_LIBRARY = "NOT_IN_LIBRARY"
PARTIAL = "PARTIAL:"
_TAG = re.compile(
    r"<(\s*/?\s*(?:passages?|question|conversation|statements?|system|user|assistant)\b)", re.I
)
_MARKER = re.compile(r"\[\d{1,3}\]")
HISTORY_TURNS = 6
HISTORY_CHARS = 600


@cache
def template(name: str) -> str:
    return files("assistant").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")


def defuse(text: str) -> str:
    """Text that cannot open or close one of the prompt's tags."""
    return _TAG.sub(r"‹\1", text)


@lru_cache(maxsize=4096)
def _shown(text: str) -> str:
    """A passage as a prompt shows it (defused, instruction lines withheld), made once."""
    return defuse(without_instructions(text))


def format_passages(passages: Sequence[Chunk], numbers: Sequence[int] | None = None) -> str:
    """The passages as a prompt shows them, numbered from 1 (or by `numbers`)."""
    blocks = []
    for n, chunk in zip(numbers or range(1, len(passages) + 1), passages, strict=True):
        source = " — ".join(p for p in (chunk.title, chunk.section) if p)
        text = _shown(chunk.text)
        blocks.append(f'<passage n="{n}">\nSource: {defuse(source)}\n{text}\n</passage>')
    return "\n\n".join(blocks)


def answer_messages(
    question: str,
    passages: Sequence[Chunk],
    missing: str = "",
    previous_question: str | None = None,
    previous_answer: str | None = None,
) -> list[BaseMessage]:
    """The answer prompt; `missing` (a partial answer) is what the library does not cover,
    which the answer opens with, so the model answers only the rest. A follow-up carries the
    turn before it: its question says what "they" or "that" is, and its answer (shortened,
    markers dropped) is what the new answer must not say again."""
    note = (
        f"\nThe library does not cover part of this question: {defuse(missing)} That sentence "
        "is shown before your answer; do not repeat it. Answer what the passages do cover.\n"
        if missing
        else ""
    )
    if previous_question or previous_answer:
        turns = [
            f"{role}: {defuse(_shortened(text))}"
            for role, text in (("user", previous_question), ("assistant", previous_answer))
            if text
        ]
        lead, ask = (
            (
                "The question follows this earlier turn of the conversation:",
                "Answer the new question about the same subject. ",
            )
            if previous_question
            else ("The previous answer in this conversation was:", "")
        )
        note += (
            f"\n{lead}\n<conversation>\n" + "\n".join(turns) + "\n</conversation>\n"
            f"{ask}Do not repeat what the earlier answer already said; give what the new "
            "question asks.\n"
        )
    user = template("answer_user").format(
        passages=format_passages(passages), question=defuse(question), note=note
    )
    return [SystemMessage(template("answer_system")), HumanMessage(user)]


def _shortened(text: str) -> str:
    """A turn as a prompt shows it: one line, no [n] markers, at most HISTORY_CHARS."""
    text = " ".join(_MARKER.sub("", text).split())
    return text[:HISTORY_CHARS] + "…" if len(text) > HISTORY_CHARS else text


def standalone_from_reply(reply: str, question: str, max_chars: int) -> str | None:
    """The rewritten question from a model's reply, or None when the reply is not one."""
    line = next((ln.strip() for ln in reply.splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:standalone question|question)\s*:\s*", "", line, flags=re.I)
    line = line.strip().strip("\"'“”").strip()
    if not line or len(line) > min(max_chars, 4 * len(question) + 300):
        return None
    return line


@dataclass(frozen=True)
class SearchReading:
    """What the model made of a question for retrieval: the follow-up as a standalone
    question (None when there was no conversation or no usable line) and search queries."""

    standalone: str | None
    queries: tuple[str, ...]


QUERY_CHARS = 300  # a search query longer than this is not one


def search_messages(
    question: str, history: Sequence[Turn], titles: Sequence[str], count: int
) -> list[BaseMessage]:
    """One call for retrieval: rewrite a follow-up and write `count` search queries."""
    documents = "\n".join(f"- {defuse(t)}" for t in titles if t) or "- (none)"
    conversation = ""
    turns = list(history)[-HISTORY_TURNS:]
    if turns:
        lines = [f"{t.role}: {defuse(_shortened(t.content))}" for t in turns]
        conversation = "\n<conversation>\n" + "\n".join(lines) + "\n</conversation>\n"
    user = template("search_user").format(
        documents=documents, conversation=conversation, question=defuse(question)
    )
    return [SystemMessage(template("search_system").format(count=count)), HumanMessage(user)]


def search_from_reply(
    reply: str, question: str, max_chars: int, count: int, history_given: bool = False
) -> SearchReading:
    """The reply's STANDALONE and QUERY lines; anything else is ignored. A line too long for
    a question, a query repeating the question or another query, is dropped (the caller
    also refuses lines that carry instructions)."""
    standalone, queries = None, []
    limit = min(max_chars, 4 * len(question) + 300)
    seen = {" ".join(question.lower().split())}
    for raw in reply.splitlines()[:40]:
        label, sep, text = raw.strip().lstrip("-*• ").partition(":")
        text = text.strip().strip("\"'“”").strip()
        if not sep or not text:
            continue
        label = label.strip().upper()
        if label == "STANDALONE" and standalone is None and len(text) <= limit:
            standalone = text
        elif label == "QUERY" and len(queries) < count and len(text) <= QUERY_CHARS:
            key = " ".join(text.lower().split())
            if key not in seen:
                seen.add(key)
                queries.append(text)
    if standalone is None and not queries and history_given:
        standalone = standalone_from_reply(reply, question, max_chars)  # an unlabelled line
    return SearchReading(standalone, tuple(queries))


def judge_messages(statements: Sequence[tuple[str, Sequence[int]]], passages: Sequence[Chunk]):
    """The prompt of a second reading: each statement (its text, the passage numbers it
    cites, as numbered in the answer prompt) beside only the passages those numbers name,
    numbered as the answer prompt numbered them, so the statements' own markers match."""
    cited = sorted({n for _, ns in statements for n in ns if 1 <= n <= len(passages)})
    lines = []
    for i, (text, ns) in enumerate(statements, start=1):
        marks = "".join(f"[{n}]" for n in ns)
        lines.append(f"S{i} (cites {marks}): {defuse(' '.join(text.split()))}")
    user = template("judge_user").format(
        passages=format_passages([passages[n - 1] for n in cited], cited),
        statements="\n".join(lines),
    )
    return [SystemMessage(template("judge_system")), HumanMessage(user)]


_VERDICT = re.compile(
    r"^[\s*_>#-]*S?\s*(\d{1,3})\s*[:.)\-–]*[\s*_]*(NOT[\s_-]*SUPPORTED|UNSUPPORTED|SUPPORTED)\b",
    re.IGNORECASE,
)


def verdicts_from_reply(reply: str, count: int) -> dict[int, bool]:
    """Statement number (from 1) -> supported, from a reply's verdict lines. A statement
    given no verdict, or two that disagree, gets none (its words decide it); other lines are
    ignored."""
    found: dict[int, set[bool]] = {}
    for line in reply.splitlines()[: 4 * count + 20]:
        m = _VERDICT.match(line)
        if m and 1 <= int(m.group(1)) <= count:
            supported = m.group(2).upper() == "SUPPORTED"
            found.setdefault(int(m.group(1)), set()).add(supported)
    return {n: next(iter(v)) for n, v in found.items() if len(v) == 1}
