"""What the Streamlit app needs from the package, in one small, Streamlit-free module.

The seam: `app.py` gets its `Assistant` only by calling `app_support.load(settings)` (through
the module attribute, inside its `@st.cache_resource` function). UI tests replace that one
function and hand the app a fake:

    with unittest.mock.patch("assistant.app_support.load", return_value=FakeAssistant()):
        at = AppTest.from_file("app.py").run()

Everything the app shows then comes from the fake's public methods (`ask`, `documents`,
`document_text`), so no index, model or Chroma is touched. Clear Streamlit's resource cache
between tests (`st.cache_resource.clear()`) so one test's fake does not leak into the next.
"""

from __future__ import annotations

import logging

from assistant.errors import IndexMissing
from assistant.index import live_build_path
from assistant.service import Assistant, load_assistant
from assistant.settings import Settings

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
    try:
        bot = load_assistant(settings)
    except IndexMissing:
        from assistant.embedder import load_default_embedder
        from ingest.pipeline import run_ingest

        log.info("No index in %s; building it from %s", settings.store_dir, settings.corpus_dir)
        embedder = load_default_embedder(settings.model_path)
        report = run_ingest(settings, embedder=embedder, progress=False)
        log.info("Index built: %s", report)
        bot = load_assistant(settings, embedder=embedder)
    bot.warm()
    return bot
