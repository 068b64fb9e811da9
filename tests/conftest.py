"""Test configuration: hooks, the fixture modules (tests/fixtures/), and the guard that
keeps a developer's language-model settings out of the tests. The fakes live in
tests/fakes.py."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures.library", "tests.fixtures.servers"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so a fixture can tell at teardown that its test
    failed (the browser tests then print what the page showed and the app's log)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


MODEL_VARIABLES = (
    "LBW_LLM",
    "LBW_LLM_MODEL",
    "LBW_LLM_TIMEOUT",
    "LBW_LLM_TEMPERATURE",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "OLLAMA_HOST",
)


@pytest.fixture(autouse=True)
def _only_the_model_settings_a_test_sets(request, monkeypatch):
    """No language model settings leak in from the shell or a developer's `.env` (tests
    marked `llm` use the real ones on purpose)."""
    if request.node.get_closest_marker("llm"):
        return
    monkeypatch.setenv("LBW_ENV_FILE", os.devnull)
    for name in MODEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hashing_embedder():
    from tests.fakes import HashingEmbedder

    return HashingEmbedder()


@pytest.fixture
def fake_assistant():
    from tests.fakes import FakeAssistant

    return FakeAssistant()
