"""A composer that lets a language model write the answer and trusts none of it unchecked.

Per question the service has already retrieved once and decided that the library answers
it. This composer gives the model the slate's passages, numbered and fenced as data; checks
every sentence as it streams in (assistant.llm.verify); and answers with the offline
composer instead, built only then, when the model errors, times out, says the passages do
not answer, or writes nothing that survives the check. The Answer says which one answered
and why, and lists what the check removed; the stream says the answer was replaced.

The model is called on a worker thread and read through a queue, so one deadline
(LBW_LLM_TIMEOUT) bounds the whole answer whatever the client's own timeouts do.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from assistant.answer.citations import Citations
from assistant.answer.composer import Composer
from assistant.answer.offline import OfflineComposer
from assistant.answer.scope import ANSWERED, NOT_IN_LIBRARY, PARTIAL, ScopeDecision
from assistant.answer.stream import AnswerStream
from assistant.core.background import in_background
from assistant.core.inputs import capped
from assistant.core.safety import instruction_like
from assistant.core.settings import Settings
from assistant.core.types import Answer, Chunk, Turn, Verification
from assistant.llm import prompts
from assistant.llm.backends import chat_model, model_label
from assistant.llm.verify import (
    MARKER,
    AnswerChecker,
    Borderline,
    library_words,
    sanitize,
    split_units,
)
from assistant.retrieval.library import LoadedIndex, Retrieved

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)


MISSING_CHARS = 300  # the model's sentence on what the library lacks is cut to one sentence
NO_ANSWER = "The library does not answer this question."
GENERIC_MISSING = "The library answers this question only in part."


def missing_sentence(text: str) -> str:
    """The model's PARTIAL line as shown to users: one plain sentence, no markers, links or
    markup, never an instruction; the generic sentence when nothing usable is left."""
    text = " ".join(MARKER.sub("", sanitize(text)).split()).strip(" *_#>")
    text = split_units(text)[0].strip() if text else ""
    if not text or len(text) > MISSING_CHARS or instruction_like(text):
        return GENERIC_MISSING
    return text if text[-1] in ".!?" else text + "."


def context(found: Retrieved, budget: int) -> list[Chunk]:
    """The passages a model reads: the slate first, then the rest of the ranking, in rank
    order, while they fit in `budget` characters (at least one passage)."""
    out: list[Chunk] = []
    seen: set[str] = set()
    used = 0
    for scored in [*found.chosen, *found.ranked]:
        chunk = scored.chunk
        if chunk.id in seen:
            continue
        if out and used + len(chunk.text) > budget:
            if scored in found.chosen:
                continue
            break
        seen.add(chunk.id)
        out.append(chunk)
        used += len(chunk.text)
    return out


class ModelTimeout(Exception):
    """The model did not finish within the composer's deadline."""


def describe(exc: BaseException, timeout: float) -> str:
    """A reason fit to show users: the kind of failure, never the provider's message (which
    can echo request details such as a partly masked key)."""
    kind = type(exc).__name__
    if isinstance(exc, ModelTimeout | TimeoutError) or "Timeout" in kind:
        return f"the language model did not answer within {timeout:g} s"
    if "Connect" in kind or isinstance(exc, ConnectionError):
        return "the language model server could not be reached"
    if "Authentication" in kind or "Permission" in kind:
        return "the language model server refused the credentials"
    if "NotFound" in kind:
        return "the language model server does not know the model"
    if "RateLimit" in kind:
        return "the language model server is rate-limiting requests"
    return f"the language model failed ({kind})"


class LLMComposer(Composer):
    name = "llm"
    judges_scope = True  # the model's reply decides answered, partial or not in the library

    def __init__(
        self,
        model: BaseChatModel,
        label: str = "llm",
        timeout: float = 60.0,
        max_question_chars: int = 2000,
        offline: OfflineComposer | None = None,
        max_answer_chars: int = 8000,
        context_chars: int = 30_000,
        queries: int = 0,
        reread: int = 0,
    ):
        self.model = model
        self.label = label
        self.timeout = timeout
        self.max_question_chars = max_question_chars
        self.offline = offline or OfflineComposer()
        self.max_answer_chars = max_answer_chars
        self.context_chars = context_chars
        self.queries = queries
        self.reread = reread  # borderline sentences the model re-reads per answer (0: none)
        # Called with each finished check (the checker, the passages the model read): the
        # evaluation reads the sentences judged from it (eval/verifier.py).
        self.on_checked: Callable[[AnswerChecker, list[Chunk]], None] | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, model: BaseChatModel | None = None, label: str | None = None
    ) -> LLMComposer:
        """The composer the settings describe; `model` (and its `label`) replaces the chat
        model they choose (the evaluation's replay backend)."""
        return cls(
            model or chat_model(settings),
            label or model_label(settings),
            settings.llm_timeout,
            settings.max_question_chars,
            OfflineComposer(),
            settings.max_answer_chars,
            settings.llm_context_chars,
            settings.llm_queries,
            settings.llm_reread,
        )

    # -- reading the question for retrieval --------------------------------------------------
    @property
    def searches(self) -> bool:
        return self.queries > 0

    def search(
        self, question: str, history: Sequence[Turn], titles: Sequence[str]
    ) -> prompts.SearchReading | None:
        """One model call that rewrites a follow-up into a standalone question and writes
        search queries (MultiQueryRetriever's idea, with our own retrieval and fusion).
        None when there is nothing to ask or the model fails: the question is then planned
        by rule, as offline."""
        followup = any(t.role == "user" for t in history)
        if not followup and self.queries < 1:
            return None
        if not followup:
            history = ()
        messages = prompts.search_messages(question, history, titles, max(self.queries, 1))
        try:
            reply = "".join(self._pieces(messages, False))
        except Exception as exc:
            log.warning("No search queries (%s); planning by rule", describe(exc, self.timeout))
            return None
        reading = prompts.search_from_reply(
            reply, question, self.max_question_chars, self.queries, followup
        )
        # The service checks each line as it checks a typed question (instructions included).
        return reading if followup else replace(reading, standalone=None)

    # -- answers ---------------------------------------------------------------------------
    def compose(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> Answer:
        return self._answer(found, index, scope, stream=False).result()

    def stream(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> AnswerStream:
        return self._answer(found, index, scope, stream=True)

    def declined(self, answer: Answer, found=None, index=None) -> Answer:
        answer = self.offline.declined(answer, found, index)
        return self._fallback(answer, "the library does not answer this question")

    def messages(self, found: Retrieved) -> tuple[list[Chunk], list]:
        """The passages the model reads and the answer prompt built from them."""
        passages = context(found, self.context_chars)
        plan = found.plan
        # A follow-up planned from the history carries the turn before it; one the model
        # rewrote stands alone and carries only the earlier answer (not to be repeated).
        # A new question after a conversation carries neither.
        earlier = plan.followup or plan.previous_question is None
        messages = prompts.answer_messages(
            plan.question,
            passages,
            "",
            plan.previous_question if plan.followup else None,
            plan.previous_answer if earlier else None,
        )
        return passages, messages

    def _answer(
        self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision, stream: bool
    ) -> AnswerStream:
        passages, messages = self.messages(found)
        pieces = self._write(found, index, scope, passages, messages, stream)
        return AnswerStream(pieces, self.name)

    def _write(
        self,
        found: Retrieved,
        index: LoadedIndex,
        scope: ScopeDecision,
        passages: list[Chunk],
        messages: list,
        stream: bool,
    ) -> Generator[str, None, Answer]:
        plan = found.plan
        history = " ".join(t for t in (plan.previous_question, plan.previous_answer) if t)
        deadline = time.monotonic() + self.timeout  # the whole answer's, second reading too
        checker = AnswerChecker(
            passages, library_words(index), index, history, holding=self.reread > 0
        )
        fed: list[str] = []  # the reply's text as checked, to check again after a re-reading

        def feed(text: str) -> str:
            fed.append(text)
            return checker.feed(text)

        # "More from the library" does not depend on the reply: laid out while the model writes.
        more_ahead = in_background(self.offline.layout, found, index, name="lbw-more")

        def offline() -> Answer:  # built only when the model's answer is not used
            if lead:  # the model judged it partial: its sentence on what is missing leads
                judged = replace(scope, outcome=PARTIAL, missing=lead)
                return replace(self.offline.compose(found, index, judged), scope=PARTIAL)
            if not scope.in_scope:  # a doubtful refusal the model could not settle
                refusal = self.offline.declined(scope.refusal(found.plan), found, index)
                return replace(refusal, scope=NOT_IN_LIBRARY)
            return replace(self.offline.compose(found, index, scope), scope=scope.outcome)

        head = ""  # the reply's start, held until it cannot be one of the two labels
        started = False
        lead = ""  # a partial answer opens with the model's sentence on what is missing
        pending = ""
        try:
            for piece in capped(self._pieces(messages, stream, deadline), self.max_answer_chars):
                if not started:
                    head += piece
                    label, lead, piece = _opening(head)
                    if label == "wait":
                        continue
                    if label == NOT_IN_LIBRARY:
                        return self._not_in_library(found, index)
                    started, pending = True, f"{lead}\n\n" if lead else ""
                if shown := feed(piece):
                    yield pending + shown
                    pending = ""
            if not started and head.strip():  # a reply too short to tell while it came
                label, lead, body = _opening(head, done=True)
                if label == NOT_IN_LIBRARY:
                    return self._not_in_library(found, index)
                pending = f"{lead}\n\n" if lead else ""
                if shown := feed(body):
                    yield pending + shown
                    pending = ""
            if shown := checker.finish():
                yield pending + shown
            checker, reread = self.reread_doubtful(checker, "".join(fed), deadline)
            if self.on_checked is not None:
                self.on_checked(checker, passages)
        except Exception as exc:
            reason = describe(exc, self.timeout)
            log.warning("Answering with the offline composer: %s", reason)
            return self._fallback(offline(), reason, checker)
        if not head.strip():
            return self._fallback(offline(), "the language model returned an empty answer")
        if checker.cited_sentences == 0:
            return self._fallback(
                offline(),
                "no sentence of the language model's answer was supported by a cited passage",
                checker,
            )
        cites = Citations()
        for chunk in checker.cited:
            cites.cite(chunk)
        # "More from the library" is the offline composer's fuller layout, numbered on from
        # the model's citations: verbatim library text, so it needs no check.
        more = self.offline.fuller(found, index, cites, more_ahead.result())
        return Answer(
            found.plan.question,
            f"{lead}\n\n{checker.text}" if lead else checker.text,
            True,
            cites.items,
            self.name,
            Verification(
                tuple(checker.removed_markers),
                tuple(checker.unsupported),
                None,
                self.label,
                reread=reread,
            ),
            scope=PARTIAL if lead else ANSWERED,
            more=more,
        )

    def reread_doubtful(
        self, checker: AnswerChecker, answer: str, deadline: float | None = None
    ) -> tuple[AnswerChecker, int]:
        """`checker` (which held back its borderline sentences) as it stands when it has
        none; else the model's second reading of them and the `answer` checked again with
        its verdicts. Also how many sentences got a verdict."""
        if not checker.borderline:
            return checker, 0
        verdicts = self.second_reading(checker.borderline, checker.passages, deadline)
        return checker.again(answer, verdicts), len(verdicts)

    def second_reading(
        self,
        doubtful: Sequence[Borderline],
        passages: Sequence[Chunk],
        deadline: float | None = None,
    ) -> dict:
        """The model's verdicts on the sentences words alone left in doubt (at most
        `reread` of them, in one call, within what is left of the answer's `deadline`),
        keyed as the checker keys them. Empty when the call fails, runs out of time or says
        nothing usable: the words then decide, as without a model."""
        if deadline is not None and deadline <= time.monotonic():
            return {}
        asked = list(doubtful)[: self.reread]
        messages = prompts.judge_messages([(b.text, b.cited) for b in asked], passages)
        try:
            reply = "".join(self._pieces(messages, False, deadline))
        except Exception as exc:
            log.warning("No second reading (%s); words decide", describe(exc, self.timeout))
            return {}
        said = prompts.verdicts_from_reply(reply, len(asked))
        return {asked[n - 1].key: ok for n, ok in said.items()}

    def _not_in_library(self, found: Retrieved, index: LoadedIndex) -> Answer:
        """The model found no answer: say so plainly; the closest passages follow as
        passages, labelled so, never as an answer."""
        cites = Citations()
        closest = self.offline.closest(found, index, cites)
        text = f"{NO_ANSWER}\n\n{closest}" if closest else NO_ANSWER
        return Answer(
            found.plan.question,
            text,
            False,
            cites.items,
            self.name,
            Verification(model=self.label),
            scope=NOT_IN_LIBRARY,
        )

    def _fallback(self, offline: Answer, reason: str, checker: AnswerChecker | None = None):
        found = (
            (tuple(checker.removed_markers), tuple(checker.unsupported)) if checker else ((), ())
        )
        return replace(offline, verification=Verification(*found, reason, self.label))

    # -- the model, under one deadline --------------------------------------------------------
    def _pieces(self, messages: list, stream: bool, deadline: float | None = None) -> Iterator[str]:
        """The reply's text pieces; raises ModelTimeout when the deadline passes (`deadline`,
        a time.monotonic() value, else `timeout` seconds from now)."""
        out: queue.Queue[tuple[str, Any]] = queue.Queue()

        def work() -> None:
            try:
                if stream:
                    for chunk in self.model.stream(messages):
                        out.put(("text", chunk.text))
                else:
                    out.put(("text", self.model.invoke(messages).text))
            except BaseException as exc:  # handed to the reading thread
                out.put(("error", exc))
            finally:
                out.put(("end", None))

        threading.Thread(target=work, name="lbw-llm", daemon=True).start()
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise queue.Empty
                kind, value = out.get(timeout=remaining)
            except queue.Empty:
                raise ModelTimeout(f"no answer within {self.timeout:g} s") from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            if value:
                yield value


def _opening(head: str, done: bool = False) -> tuple[str, str, str]:
    """What the reply's start says: (label, the partial answer's opening sentence, the text
    to check). The label is NOT_IN_LIBRARY, PARTIAL, "" (an answer) or "wait" (too short to
    tell; never once `done`)."""
    start = _unmarked(head)
    label = _label(start, done)
    if label != PARTIAL:
        return label, "", head
    line, _, rest = start[len(prompts.PARTIAL) :].partition("\n")
    return label, missing_sentence(line), rest


def _label(start: str, done: bool = False) -> str:
    """Which reply the model is writing, from its first characters: NOT_IN_LIBRARY,
    PARTIAL, "" (an answer) or "wait" (too short to tell; never once `done`)."""
    for label in (prompts.NOT_IN_LIBRARY, prompts.PARTIAL):
        if start.upper().startswith(label):
            if label == prompts.PARTIAL and "\n" not in start and not done:
                return "wait"  # the PARTIAL line is read whole
            return NOT_IN_LIBRARY if label == prompts.NOT_IN_LIBRARY else PARTIAL
        if not done and len(start) < len(label) and label.startswith(start.upper()):
            return "wait"
    return ""


_LABELLED = re.compile(r"(PARTIAL|NOT_IN_LIBRARY)[*_]*(:?)[*_]*", re.IGNORECASE)


def _unmarked(head: str) -> str:
    """The reply's start without leading space or emphasis ("**PARTIAL:** ...")."""
    start = head.lstrip().lstrip("*_#> ")
    m = _LABELLED.match(start)
    return m.group(1).upper() + m.group(2) + start[m.end() :] if m else start
