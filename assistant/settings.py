"""One settings object, read late (when a command or the app starts), never at import.

Environment variables (see README): LBW_STORE_DIR, LBW_CORPUS_DIR, LBW_CHROMA_HOST,
LBW_CHROMA_PORT, LBW_CHROMA_TOKEN, LBW_TOP_K, LBW_MAX_QUESTION_CHARS, LBW_LIBRARY_DIR,
LBW_MAX_FILE_MB.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    store_dir: Path = PROJECT_ROOT / ".lbw" / "store"
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_token: str | None = None
    collection_prefix: str = "lbw"
    top_k: int = 8
    max_question_chars: int = 2000
    model_path: Path | None = None  # None: the bundled all-MiniLM-L6-v2
    # Documents users add (see ingest.userlib); None: a "library" folder beside the store.
    library_dir: Path | None = None
    max_file_mb: float = 50.0

    @property
    def user_library_dir(self) -> Path:
        """Where added documents live: LBW_LIBRARY_DIR, or `library/` beside the store."""
        return Path(self.library_dir or Path(self.store_dir).parent / "library")

    @property
    def models_dir(self) -> Path:
        """Where derived model files (the ONNX export for questions) are cached."""
        return self.store_dir / "models"

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Build settings from the environment (default: os.environ) plus explicit overrides."""
        env = os.environ if env is None else env
        base = cls()
        values = {}
        if env.get("LBW_CORPUS_DIR"):
            values["corpus_dir"] = Path(env["LBW_CORPUS_DIR"]).expanduser()
        if env.get("LBW_STORE_DIR"):
            values["store_dir"] = Path(env["LBW_STORE_DIR"]).expanduser()
        if env.get("LBW_CHROMA_HOST"):
            values["chroma_host"] = env["LBW_CHROMA_HOST"]
        if env.get("LBW_CHROMA_PORT"):
            values["chroma_port"] = int(env["LBW_CHROMA_PORT"])
        if env.get("LBW_CHROMA_TOKEN"):
            values["chroma_token"] = env["LBW_CHROMA_TOKEN"]
        if env.get("LBW_TOP_K"):
            values["top_k"] = int(env["LBW_TOP_K"])
        if env.get("LBW_MAX_QUESTION_CHARS"):
            values["max_question_chars"] = int(env["LBW_MAX_QUESTION_CHARS"])
        if env.get("LBW_MODEL_PATH"):
            values["model_path"] = Path(env["LBW_MODEL_PATH"])
        if env.get("LBW_LIBRARY_DIR"):
            values["library_dir"] = Path(env["LBW_LIBRARY_DIR"]).expanduser()
        if env.get("LBW_MAX_FILE_MB"):
            values["max_file_mb"] = float(env["LBW_MAX_FILE_MB"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(base, **values)
