"""The language-model backends, described once: name, label, default model, and the
package and class that provide the chat model.

Settings validate against it, the CLI and the app offer its names, and
`assistant.llm.backends.chat_model` imports the package only when a backend is chosen, so
the offline default never loads a provider.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backend:
    name: str
    label: str
    default_model: str = ""
    module: str = ""  # the langchain integration package, imported on first use
    class_name: str = ""


BACKENDS = (
    Backend("none", "Offline composer (no language model)"),
    Backend(
        "openai",
        "OpenAI or an OpenAI-compatible server",
        "gpt-4o-mini",
        "langchain_openai",
        "ChatOpenAI",
    ),
    Backend("ollama", "Ollama (local)", "llama3.1", "langchain_ollama", "ChatOllama"),
    Backend(
        "anthropic", "Anthropic", "claude-3-5-haiku-latest", "langchain_anthropic", "ChatAnthropic"
    ),
)
BACKEND_BY_NAME = {b.name: b for b in BACKENDS}
LLM_BACKENDS = tuple(b.name for b in BACKENDS)
DEFAULT_LLM_MODELS = {b.name: b.default_model for b in BACKENDS if b.default_model}


def backend_label(backend: str) -> str:
    found = BACKEND_BY_NAME.get(backend)
    return found.label if found else backend
