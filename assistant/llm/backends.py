"""Settings -> a langchain chat model: OpenAI (and any OpenAI-compatible server through a
base URL: vLLM, llama.cpp server, LM Studio), Ollama, Anthropic.

Each provider package is imported only when its backend is chosen. Keys go straight from
Settings into the client, which holds them as pydantic SecretStr; they are never logged.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from assistant.core.backends import BACKEND_BY_NAME, DEFAULT_LLM_MODELS, LLM_BACKENDS
from assistant.core.errors import LLMConfigError
from assistant.core.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

MAX_TOKENS = 1200


def model_label(settings: Settings) -> str:
    """'backend:model', shown to users as the model that answered."""
    return f"{settings.llm}:{settings.llm_model or DEFAULT_LLM_MODELS.get(settings.llm, '')}"


def _class(backend: str) -> Any:
    module, name = BACKEND_BY_NAME[backend].module, BACKEND_BY_NAME[backend].class_name
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise LLMConfigError(
            f"The {backend} backend needs the {module.replace('_', '-')} package: "
            "pip install 'look-both-ways-assistant[llm]'."
        ) from exc


def chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings choose (LLMConfigError when it cannot be set up)."""
    backend = settings.llm
    if backend not in LLM_BACKENDS or backend == "none":
        raise LLMConfigError(
            f"Unknown language model backend {backend!r}: choose one of "
            f"{', '.join(b for b in LLM_BACKENDS if b != 'none')} (or none)."
        )
    model = settings.llm_model or DEFAULT_LLM_MODELS[backend]
    extra: dict[str, Any] = {}
    if settings.llm_temperature is not None:
        extra["temperature"] = settings.llm_temperature
    if backend == "openai":
        if not settings.openai_api_key and not settings.openai_base_url:
            raise LLMConfigError(
                "The openai backend needs OPENAI_API_KEY (or OPENAI_BASE_URL for an "
                "OpenAI-compatible server that takes no key)."
            )
        return _class("openai")(
            model=model,
            api_key=settings.openai_api_key or "not-needed",
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout,
            max_retries=1,
            max_tokens=MAX_TOKENS,
            **extra,
        )
    if backend == "anthropic":
        if not settings.anthropic_api_key:
            raise LLMConfigError("The anthropic backend needs ANTHROPIC_API_KEY.")
        return _class("anthropic")(
            model=model,
            api_key=settings.anthropic_api_key,
            timeout=settings.llm_timeout,
            max_retries=1,
            max_tokens=MAX_TOKENS,
            **extra,
        )
    return _class("ollama")(
        model=model,
        base_url=settings.ollama_host,
        num_predict=MAX_TOKENS,
        client_kwargs={"timeout": settings.llm_timeout},
        **extra,
    )
