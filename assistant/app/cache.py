"""The app's heavy objects, cached across reruns and browser sessions: one Assistant per
settings, one composer per language-model choice. They come only through the test seam
(`assistant.app.support`), so tests patch `support.load` and `support.composer`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import streamlit as st

from assistant.app import support as app_support
from assistant.core.errors import LbwError
from assistant.core.settings import Settings

log = logging.getLogger("lbw.app")


@st.cache_resource(show_spinner=False)
def get_assistant(settings: Settings):
    """One ready Assistant per distinct settings, shared by every browser session."""
    return app_support.load(settings)


@st.cache_resource(show_spinner=False)
def get_composer(settings: Settings):
    """One composer per language model choice, shared by every browser session."""
    return app_support.composer(settings)


def app_settings() -> Settings:
    """Settings from the environment, `.env` and Streamlit secrets (keys stay in memory)."""
    try:
        secrets = st.secrets.to_dict()
    except Exception:  # no secrets file: environment and .env only
        secrets = {}
    return app_support.settings_from(secrets)


def assistant_or_stop(settings: Settings | None = None):
    """The Assistant, or an error message and the end of this run."""
    settings = replace(settings or app_settings(), llm="none", llm_model=None)
    if app_support.needs_index(settings):
        message = "Building the library index (first run)…"
    else:
        message = "Loading the library…"
    try:
        with st.spinner(message):
            return get_assistant(settings)
    except LbwError as exc:
        st.error(str(exc))
    except Exception:
        log.exception("Could not load the assistant")
        st.error("The library could not be loaded; the error has been logged.")
    st.stop()
