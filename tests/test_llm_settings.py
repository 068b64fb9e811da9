"""Choosing a language model: settings, `.env`, backends, secrets kept out of sight."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant import cli
from assistant.answer.offline import OfflineComposer
from assistant.core.errors import LLMConfigError
from assistant.core.settings import Settings
from assistant.llm import LLMComposer, chat_model
from assistant.service import make_composer

KEY = "sk-test-NEVER-SHOW-4242"
ROOT = Path(__file__).resolve().parent.parent


def test_environment_chooses_backend_model_and_provider_variables():
    s = Settings.from_env(
        {
            "LBW_LLM": "OpenAI",
            "LBW_LLM_MODEL": "qwen2.5-7b-instruct",
            "LBW_LLM_TIMEOUT": "12.5",
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
            "ANTHROPIC_API_KEY": "sk-ant-secret",
            "OLLAMA_HOST": "http://127.0.0.1:11434",
        }
    )
    assert (s.llm, s.llm_model, s.llm_timeout) == ("openai", "qwen2.5-7b-instruct", 12.5)
    assert s.openai_api_key == KEY and s.openai_base_url == "http://127.0.0.1:8080/v1"
    assert s.anthropic_api_key == "sk-ant-secret" and s.ollama_host == "http://127.0.0.1:11434"
    assert Settings.from_env({"LBW_LLM": "openai"}, llm="ollama").llm == "ollama"  # --llm wins
    assert Settings.from_env({}).llm == "none"


def test_dotenv_fills_in_what_the_environment_does_not_set(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        f"LBW_LLM=ollama\nLBW_LLM_MODEL=from-dotenv\nOPENAI_API_KEY={KEY}\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LBW_ENV_FILE")  # tests read no .env unless they say so
    monkeypatch.setenv("LBW_LLM_MODEL", "from-environment")
    s = Settings.from_env()
    assert s.llm == "ollama" and s.openai_api_key == KEY
    assert s.llm_model == "from-environment"  # the environment wins over .env
    assert (tmp_path / ".env").read_text(encoding="utf-8").count(KEY) == 1  # only read


def test_secrets_never_appear_in_a_settings_repr():
    s = Settings(openai_api_key=KEY, anthropic_api_key=KEY, chroma_token=KEY, llm="openai")
    assert KEY not in repr(s) and KEY not in str(s) and "openai" in repr(s)


def test_openai_compatible_backend_gets_base_url_model_and_timeout():
    model = chat_model(
        Settings(llm="openai", llm_model="local", openai_base_url="http://127.0.0.1:9/v1")
    )
    assert type(model).__name__ == "ChatOpenAI"
    assert model.model_name == "local" and model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.request_timeout == 60.0 and model.max_retries == 1
    keyed = chat_model(Settings(llm="openai", openai_api_key=KEY))
    assert keyed.openai_api_key.get_secret_value() == KEY
    assert KEY not in repr(keyed) and KEY not in str(keyed.model_dump())


def test_ollama_and_anthropic_backends():
    ollama = chat_model(Settings(llm="ollama", ollama_host="http://127.0.0.1:11434"))
    assert type(ollama).__name__ == "ChatOllama" and ollama.model == "llama3.1"
    assert ollama.base_url == "http://127.0.0.1:11434"
    claude = chat_model(Settings(llm="anthropic", anthropic_api_key=KEY, llm_model="claude-x"))
    assert type(claude).__name__ == "ChatAnthropic" and claude.model == "claude-x"
    assert KEY not in repr(claude)


@pytest.mark.parametrize(
    "settings, message",
    [
        (Settings(llm="gpt"), "Unknown language model backend"),
        (Settings(llm="openai"), "OPENAI_API_KEY"),
        (Settings(llm="anthropic"), "ANTHROPIC_API_KEY"),
    ],
)
def test_a_backend_that_cannot_be_set_up_is_a_clear_error(settings, message):
    with pytest.raises(LLMConfigError, match=message):
        make_composer(settings)


def test_composer_follows_the_settings():
    assert isinstance(make_composer(Settings()), OfflineComposer)
    comp = make_composer(Settings(llm="openai", openai_api_key=KEY, llm_timeout=7))
    assert isinstance(comp, LLMComposer)
    assert comp.label == "openai:gpt-4o-mini" and comp.timeout == 7


@pytest.mark.parametrize("budget", [3_000, 12_000, 60_000])
def test_a_model_reads_the_ranking_by_a_character_budget(planted_settings, budget):
    """LBW_LLM_CONTEXT_CHARS, not a count, sets what a model reads: the slate first, then the
    rest of the ranking in order, while it fits the budget."""
    from dataclasses import replace as with_

    from assistant.service import load_assistant
    from tests.fakes import FakeChatModel, HashingEmbedder, prompt_passages

    settings = with_(planted_settings, top_k=3, llm_context_chars=budget)
    bot = load_assistant(settings, embedder=HashingEmbedder())
    question = "How did districts decide where to pilot?"
    plan, index = bot.plan(question)
    found, decision = bot.scope(plan, index)
    assert decision.in_scope and len(found.chosen) == 3
    model = FakeChatModel(replies=["NOT_IN_LIBRARY"])
    comp = LLMComposer(model, "fake:m", context_chars=budget)
    bot.ask(question, composer=comp)
    shown = list(prompt_passages(model.calls[0]["messages"]).values())
    order = [s.chunk.text for s in found.chosen] + [
        s.chunk.text for s in found.ranked if s not in found.chosen
    ]
    withheld = " [text addressed to AI systems withheld]"  # a planted instruction, kept out

    def same(seen: str, text: str) -> bool:
        seen, text = " ".join(seen.split()), " ".join(text.split())
        return seen == text or (withheld in seen and text.startswith(seen.split(withheld)[0]))

    assert len(shown) <= len(order)
    assert all(same(seen, text) for seen, text in zip(shown, order, strict=False))
    assert sum(len(t) for t in order[1 : len(shown)]) <= budget
    nxt = order[len(shown)] if len(shown) < len(order) else ""
    assert not nxt or sum(len(t) for t in order[: len(shown) + 1]) > budget
    assert (
        LLMComposer.from_settings(
            with_(settings, llm="openai", openai_base_url="http://127.0.0.1:9")
        ).context_chars
        == budget
    )


def test_the_offline_default_never_imports_a_model_provider():
    code = (
        "import sys\n"
        "from assistant import cli, service\n"
        "from assistant.app import support as app_support\n"
        "from assistant import service as composer\n"
        "from assistant.core.settings import Settings\n"
        "composer.make_composer(Settings())\n"
        "bad = [m for m in sys.modules if m.startswith(('langchain_openai', 'langchain_ollama',"
        " 'langchain_anthropic', 'openai', 'anthropic', 'ollama', 'assistant.llm'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_cli_rejects_an_unknown_backend_and_explains_a_missing_key(
    monkeypatch, tmp_path, capsys, planted_settings
):
    with pytest.raises(SystemExit) as exc:
        cli.main(["ask", "Where to pilot?", "--llm", "gpt"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
    monkeypatch.setenv("LBW_STORE_DIR", str(planted_settings.store_dir))
    code = cli.main(["ask", "Where to pilot?", "--llm", "openai", "--json"])
    out, err = capsys.readouterr()
    assert code == 6 and "OPENAI_API_KEY" in err and out == "" and "Traceback" not in err


def test_streamlit_secrets_sit_under_the_environment(monkeypatch, tmp_path):
    from assistant.app.support import settings_from

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LBW_LLM_MODEL", "from-environment")
    s = settings_from(
        {"LBW_LLM": "anthropic", "ANTHROPIC_API_KEY": KEY, "LBW_LLM_MODEL": "x", "db": {"a": 1}}
    )
    assert s.llm == "anthropic" and s.anthropic_api_key == KEY
    assert s.llm_model == "from-environment"
    assert settings_from(None).llm == "none"
