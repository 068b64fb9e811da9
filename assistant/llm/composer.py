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
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from assistant.answer.citations import Citations
from assistant.answer.composer import Composer
from assistant.answer.offline import OfflineComposer
from assistant.answer.scope import PARTIAL, ScopeDecision
from assistant.answer.stream import AnswerStream
from assistant.core.inputs import capped
from assistant.core.settings import Settings
from assistant.core.types import Answer, Chunk, Turn, Verification
from assistant.llm import prompts
from assistant.llm.backends import chat_model, model_label
from assistant.llm.verify import AnswerChecker, library_words
from assistant.retrieval.library import LoadedIndex, Retrieved

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)


def opening(scope: ScopeDecision) -> str:
    """What a partial answer opens with: the scope step's sentence on what is missing."""
    return scope.missing if scope.outcome == PARTIAL and scope.missing else ""


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

    def __init__(
        self,
        model: BaseChatModel,
        label: str = "llm",
        timeout: float = 60.0,
        max_question_chars: int = 2000,
        offline: OfflineComposer | None = None,
        max_answer_chars: int = 8000,
    ):
        self.model = model
        self.label = label
        self.timeout = timeout
        self.max_question_chars = max_question_chars
        self.offline = offline or OfflineComposer()
        self.max_answer_chars = max_answer_chars

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMComposer:
        return cls(
            chat_model(settings),
            model_label(settings),
            settings.llm_timeout,
            settings.max_question_chars,
            OfflineComposer(),
            settings.max_answer_chars,
        )

    # -- follow-ups ------------------------------------------------------------------------
    def rewrite(self, question: str, history: Sequence[Turn]) -> str | None:
        if not any(t.role == "user" for t in history):
            return None
        try:
            reply = "".join(self._pieces(prompts.rewrite_messages(question, history), False))
        except Exception as exc:
            log.warning(
                "Follow-up not rewritten (%s); planning it by rule", describe(exc, self.timeout)
            )
            return None
        return prompts.standalone_from_reply(reply, question, self.max_question_chars)

    # -- answers ---------------------------------------------------------------------------
    def compose(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> Answer:
        return self._answer(found, index, scope, stream=False).result()

    def stream(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> AnswerStream:
        return self._answer(found, index, scope, stream=True)

    def declined(self, answer: Answer) -> Answer:
        return self._fallback(answer, "the library does not answer this question")

    def _answer(
        self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision, stream: bool
    ) -> AnswerStream:
        passages = [s.chunk for s in found.chosen]
        plan = found.plan
        # A follow-up planned from the history carries the turn before it; one the model
        # rewrote stands alone and carries only the earlier answer (not to be repeated).
        # A new question after a conversation carries neither.
        earlier = plan.followup or plan.previous_question is None
        messages = prompts.answer_messages(
            plan.question,
            passages,
            opening(scope),
            plan.previous_question if plan.followup else None,
            plan.previous_answer if earlier else None,
        )
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
        checker = AnswerChecker(passages, library_words(index))

        def offline() -> Answer:  # built only when the model's answer is not used
            return self.offline.compose(found, index, scope)

        sentinel = prompts.NOT_IN_LIBRARY
        head = ""  # the reply's start, held until it cannot be the not-in-library reply
        started = False
        lead = opening(scope)  # a partial answer opens with what the library lacks
        pending = f"{lead}\n\n" if lead else ""
        try:
            for piece in capped(self._pieces(messages, stream), self.max_answer_chars):
                if not started:
                    head += piece
                    start = head.lstrip()
                    if len(start) < len(sentinel) and sentinel.startswith(start):
                        continue
                    if start.startswith(sentinel):
                        return self._fallback(
                            offline(), "the language model found no answer in the passages"
                        )
                    started, piece = True, head
                if shown := checker.feed(piece):
                    yield pending + shown
                    pending = ""
            # A whole reply shorter than the sentinel and a start of it is ordinary text.
            if not started and head.strip() and (shown := checker.feed(head)):
                yield pending + shown
                pending = ""
            if shown := checker.finish():
                yield pending + shown
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
        more = self.offline.fuller(found, index, cites)
        return Answer(
            found.plan.question,
            f"{lead}\n\n{checker.text}" if lead else checker.text,
            True,
            cites.items,
            self.name,
            Verification(
                tuple(checker.removed_markers), tuple(checker.unsupported), None, self.label
            ),
            more=more,
        )

    def _fallback(self, offline: Answer, reason: str, checker: AnswerChecker | None = None):
        found = (
            (tuple(checker.removed_markers), tuple(checker.unsupported)) if checker else ((), ())
        )
        return replace(offline, verification=Verification(*found, reason, self.label))

    # -- the model, under one deadline --------------------------------------------------------
    def _pieces(self, messages: list, stream: bool) -> Iterator[str]:
        """The reply's text pieces; raises ModelTimeout when the deadline passes."""
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
