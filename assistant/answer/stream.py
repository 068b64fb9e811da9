"""An answer arriving in pieces, with an explicit word on who wrote the final one.

A chat shows the pieces while it waits; the final Answer is what counts. When a language
model fails half-way, the offline composer's answer replaces the pieces already shown, and
the stream says so (`replaced`) rather than leaving callers to compare strings. When the
model's second reading restores sentences that were held back while in doubt, the final
text holds more than the pieces did (`revised`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from assistant.core.types import Answer


class AnswerStream:
    """Iterate for the pieces of checked text, then `result()` for the final Answer."""

    def __init__(self, pieces: Generator[str, None, Answer], writer: str = "offline"):
        self._pieces = pieces
        self._answer: Answer | None = None
        self.writer = writer  # the composer whose text the pieces are
        self._shown: list[str] = []

    @classmethod
    def ready(cls, answer: Answer) -> AnswerStream:
        """A stream of an answer that is already complete: one piece."""

        def pieces() -> Generator[str, None, Answer]:
            yield answer.answer
            return answer

        return cls(pieces(), answer.answered_by)

    def __iter__(self) -> Iterator[str]:
        pieces = self._pieces
        while True:
            try:
                piece = next(pieces)
            except StopIteration as done:
                if done.value is not None:
                    self._answer = done.value
                return
            self._shown.append(piece)
            yield piece

    def result(self) -> Answer:
        if self._answer is None:
            for _ in self:
                pass
        assert self._answer is not None
        return self._answer

    @property
    def replaced(self) -> bool:
        """True when the final answer is not the text the pieces were writing: the offline
        composer answered instead of the model after the model's stream began."""
        return self.result().answered_by != self.writer

    @property
    def revised(self) -> bool:
        """True when the same composer's final text is not the text its pieces showed (a
        second reading restored sentences held back while in doubt)."""
        final = self.result()
        shown = " ".join("".join(self._shown).split())
        return not self.replaced and " ".join(final.answer.split()) != shown
