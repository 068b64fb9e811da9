"""One settings object, read late (when a command or the app starts), never at import.

Environment variables (see README): LBW_STORE_DIR, LBW_CORPUS_DIR, LBW_CHROMA_HOST,
LBW_CHROMA_PORT, LBW_CHROMA_TOKEN, LBW_TOP_K, LBW_MAX_QUESTION_CHARS, LBW_LIBRARY_DIR,
LBW_MAX_FILE_MB; what one added file may expand to (ingest.formats.limits): LBW_MAX_UNPACKED_MB,
LBW_MAX_XML_MB, LBW_MAX_PARTS, LBW_MAX_PARAGRAPHS, LBW_MAX_PAGES, LBW_MAX_READ_SECONDS; for a
language model LBW_LLM (none|openai|ollama|anthropic), LBW_LLM_MODEL,
LBW_LLM_TIMEOUT, LBW_LLM_TEMPERATURE and the providers' own OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, OLLAMA_HOST.

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
    collection_prefix: str = "lbw"
    top_k: int = 8
    max_question_chars: int = 2000
    model_path: Path | None = None  # None: the bundled all-MiniLM-L6-v2
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

    def __post_init__(self) -> None:
        for name in LIMITS:
            value = getattr(self, name)
            if isinstance(value, bool) or not _positive(value):
                raise InvalidSetting(f"{name} must be a positive, finite number; it is {value!r}.")

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
        values = {name: read(env[var]) for name, var, read in _FROM_ENV if env.get(var)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(base, **values)


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _limit(kind: type[int] | type[float], variable: str) -> Callable[[str], Any]:
    """A reader for a limit's variable: a positive, finite `kind`, or InvalidSetting."""

    def read(text: str) -> int | float:
        try:
            value = kind(text.strip().replace("_", ""))
        except ValueError:
            value = None
        if value is None or not _positive(value):
            whole = "a whole number" if kind is int else "a number"
            raise InvalidSetting(
                f"{variable}={text!r} is not a limit: give {whole} above 0 (or unset it "
                "for the default)."
            )
        return value

    return read


# Limits on reading one added file: (field, environment variable, type).
LIMITS = {
    "max_unpacked_mb": ("LBW_MAX_UNPACKED_MB", float),
    "max_xml_mb": ("LBW_MAX_XML_MB", float),
    "max_parts": ("LBW_MAX_PARTS", int),
    "max_paragraphs": ("LBW_MAX_PARAGRAPHS", int),
    "max_pages": ("LBW_MAX_PAGES", int),
    "max_read_seconds": ("LBW_MAX_READ_SECONDS", float),
}


# (field, environment variable, how its text is read): unset or empty variables are skipped.
_FROM_ENV: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("corpus_dir", "LBW_CORPUS_DIR", _path),
    ("store_dir", "LBW_STORE_DIR", _path),
    ("chroma_host", "LBW_CHROMA_HOST", str),
    ("chroma_port", "LBW_CHROMA_PORT", int),
    ("chroma_token", "LBW_CHROMA_TOKEN", str),
    ("top_k", "LBW_TOP_K", int),
    ("max_question_chars", "LBW_MAX_QUESTION_CHARS", int),
    ("model_path", "LBW_MODEL_PATH", Path),
    ("library_dir", "LBW_LIBRARY_DIR", _path),
    ("max_file_mb", "LBW_MAX_FILE_MB", float),
    *((name, var, _limit(kind, var)) for name, (var, kind) in LIMITS.items()),
    ("llm", "LBW_LLM", lambda v: v.strip().lower()),
    ("llm_model", "LBW_LLM_MODEL", str.strip),
    ("llm_timeout", "LBW_LLM_TIMEOUT", float),
    ("llm_temperature", "LBW_LLM_TEMPERATURE", float),
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
