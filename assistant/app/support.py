"""What the Streamlit app needs from the package, in one small, Streamlit-free module.

The seam: `app.py` gets its `Assistant` only by calling `app_support.load(settings)` (through
the module attribute, inside its `@st.cache_resource` function). UI tests replace that one
function and hand the app a fake:

    with unittest.mock.patch("assistant.app.support.load", return_value=FakeAssistant()):
        at = AppTest.from_file("app.py").run()

Everything the app shows then comes from the fake's public methods (`ask_stream`,
`documents`, `document_text`), so no index, model or Chroma is touched. The chosen
language model comes from `app_support.composer(settings)`, a second seam tests may patch. Clear Streamlit's resource cache
between tests (`st.cache_resource.clear()`) so one test's fake does not leak into the next.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from assistant import service
from assistant.answer.composer import Composer
from assistant.core.errors import IndexMissing
from assistant.core.settings import Settings, with_dotenv
from assistant.service import Assistant, load_assistant
from assistant.storage.builds import live_build_path

log = logging.getLogger(__name__)


def needs_index(settings: Settings) -> bool:
    """True when no complete index is published yet, so `load` will build one first (slow)."""
    try:
        live_build_path(settings)
    except IndexMissing:
        return True
    return False


def load(settings: Settings) -> Assistant:
    """A ready Assistant: build the index if there is none (first run), open it, warm it up.

    Raises LbwError subclasses (IngestError, ModelError, ...) with messages fit for users.
    """
    settings = replace(settings, llm="none")  # the model is chosen per question (`composer`)
    try:
        bot = load_assistant(settings)
    except IndexMissing:
        from assistant.embedding.choice import load_embedder
        from ingest.pipeline import run_ingest

        log.info("No index in %s; building it from %s", settings.store_dir, settings.corpus_dir)
        embedder = load_embedder(settings)
        report = run_ingest(settings, embedder=embedder, progress=False)
        log.info("Index built: %s", report)
        bot = load_assistant(settings, embedder=embedder)
    bot.warm()
    return bot


def settings_from(secrets: Mapping[str, Any] | None) -> Settings:
    """Settings from the environment (over `.env`) and, under it, Streamlit's secrets.

    Only top-level string values of the secrets are read (as Streamlit itself exports them
    to the environment); nothing is written anywhere.
    """
    values = {k: str(v) for k, v in (secrets or {}).items() if isinstance(v, str | int | float)}
    return Settings.from_env({**values, **with_dotenv(os.environ)})


def composer(settings: Settings) -> Composer:
    """The composer for a sidebar choice (LLMConfigError when the model cannot be set up)."""
    return service.make_composer(settings)
