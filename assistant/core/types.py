"""Plain dataclasses that cross module boundaries (ingest -> store -> retrieval -> answer -> UI/CLI).

They hold data only; behaviour lives in the modules that handle each stage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, oldest first in a history list."""

    role: Role
    content: str


@dataclass(frozen=True)
class DocumentInfo:
    """One library document as described by the corpus manifest."""

    id: str
    title: str
    kind: str
    file: str
    authors: tuple[str, ...] = ()
    publisher: str | None = None
    date: str | None = None
    licence: str | None = None
    aliases: tuple[str, ...] = ()  # names users call it by ("Scale What", "Education Next")


@dataclass(frozen=True)
class Chunk:
    """A self-contained passage: a verbatim span of a cleaned document plus where it sits.

    `text` is exactly what a user reads when opening a citation; `heading` is the section
    path prepended for embedding and keyword search so the passage keeps its context.
    """

    id: str
    doc_id: str
    title: str
    section: str
    text: str
    kind: str = "narrative"
    tension: str | None = None
    side: str | None = None
    pages: str | None = None
    systems: tuple[str, ...] = ()
    order: int = 0

    def indexed_text(self) -> str:
        """Text used for embedding and keyword search: heading path, then the passage."""
        head = f"{self.title} — {self.section}" if self.section else self.title
        return f"{head}\n{self.text}"

    def metadata(self) -> dict[str, Any]:
        """Flat metadata as stored beside the vector (Chroma accepts scalars only)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "kind": self.kind,
            "tension": self.tension or "",
            "side": self.side or "",
            "pages": self.pages or "",
            "systems": "|".join(self.systems),
            "order": self.order,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Chunk:
        data = dict(record)
        data["systems"] = tuple(data.get("systems") or ())
        return cls(**data)

    def to_record(self) -> dict[str, Any]:
        data = asdict(self)
        data["systems"] = list(self.systems)
        return data


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused relevance score."""

    id: str
    doc_id: str
    title: str
    section: str
    text: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """What an [n] marker in an answer points to: a verbatim library passage."""

    n: int
    id: str
    doc_id: str
    title: str
    section: str
    text: str
    pages: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Unsupported:
    """A sentence of a model's answer that its cited passages do not support (it was removed).

    `cited` holds the marker numbers as the model wrote them (passage numbers of its prompt).
    """

    text: str
    cited: tuple[int, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "cited": list(self.cited), "reason": self.reason}


@dataclass(frozen=True)
class Verification:
    """What checking a language model's answer against its passages found and changed.

    `removed_markers`: the model's [n] markers that pointed to no retrieved passage.
    `reason`: why the offline composer answered although a model was configured.
    `model`: "backend:model" when one was configured; `standalone_question`: the follow-up
    as the model rewrote it for retrieval.
    """

    removed_markers: tuple[int, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()
    reason: str | None = None
    model: str | None = None
    standalone_question: str | None = None
    # Sentences the word check left in doubt that the model re-read against their passages
    # (assistant.llm.verify.BORDER); its verdict decided them.
    reread: int = 0


@dataclass
class Answer:
    """A composed answer: Markdown with [n] markers and the citations they map to."""

    question: str
    answer: str
    in_scope: bool
    citations: list[Citation] = field(default_factory=list)
    answered_by: str = "offline"  # "offline" | "llm"
    verification: Verification = field(default_factory=Verification)
    # "answered" | "partial" | "not_in_library" (the scope step's outcome); "" reads in_scope
    scope: str = ""
    more: str = ""  # the fuller layout behind "More from the library" (Markdown, same [n])
    # Questions the library answers near this one, from the question index (GUIDE §4).
    related: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return self.scope or ("answered" if self.in_scope else "not_in_library")

    def to_dict(self) -> dict[str, Any]:
        v = self.verification
        out = {
            "answer": self.answer,
            "in_scope": self.in_scope,
            "scope": self.outcome,
            "citations": [c.to_dict() for c in self.citations],
            "answered_by": self.answered_by,
            "verification": {
                "removed_markers": list(v.removed_markers),
                "unsupported": [u.to_dict() for u in v.unsupported],
                "answered_by": self.answered_by,
                "reason": v.reason,
                "model": v.model,
                "standalone_question": v.standalone_question,
                "reread": v.reread,
            },
        }
        if self.more:
            out["more"] = self.more
        if self.related:
            out["related"] = list(self.related)
        return out


@dataclass(frozen=True)
class Filters:
    """Optional restrictions a user sets in the app (tension ids, document ids)."""

    tensions: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    def allows(self, metadata: dict[str, Any]) -> bool:
        if self.doc_ids and metadata.get("doc_id") not in self.doc_ids:
            return False
        return not (self.tensions and metadata.get("tension") not in self.tensions)
