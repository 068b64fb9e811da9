"""The Composer interface: turns what retrieval found, and the scope decision, into a cited
Answer.

Composers receive evidence; they never retrieve and never decide scope (the service does
both, once per question). The offline composer and the language-model composer are the two
implementations; tests add fakes as real subclasses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from assistant.answer.scope import ScopeDecision
from assistant.answer.stream import AnswerStream
from assistant.core.types import Answer, Turn
from assistant.retrieval.library import LoadedIndex, Retrieved


class Composer(ABC):
    name = "composer"

    @abstractmethod
    def compose(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> Answer: ...

    def stream(self, found: Retrieved, index: LoadedIndex, scope: ScopeDecision) -> AnswerStream:
        """The answer as it is written; a composer that has it at once sends it whole."""
        return AnswerStream.ready(self.compose(found, index, scope))

    judges_scope = False  # True: the composer's own reply decides the scope (a model's)

    def declined(
        self, answer: Answer, found: Retrieved | None = None, index: LoadedIndex | None = None
    ) -> Answer:
        """The scope step's refusal, as this composer reports it (a language-model composer
        notes that its model was not asked). `found`: what retrieval found, when it ran, so
        a composer may add the closest passages, labelled as such (never an answer)."""
        return answer

    searches = False  # True: `search` calls a model for a new question too (its queries)

    def search(self, question: str, history: Sequence[Turn], titles: Sequence[str]):
        """What a model makes of the question for retrieval (assistant.llm.prompts
        .SearchReading: a follow-up's standalone question and search queries), or None to
        plan it by rule alone, as the offline composer does."""
        return None
