"""Answers written by a language model, checked against the library before anyone sees them.

    from assistant.llm import LLMComposer, chat_model
    composer = LLMComposer.from_settings(settings)   # LBW_LLM=openai|ollama|anthropic

Imported only when a model is chosen (`assistant.answer.offline.make_composer`), so the offline
default never loads langchain's provider packages. The provider package itself is imported
inside `chat_model`, for the one backend in use.
"""

from assistant.llm.backends import chat_model, model_label
from assistant.llm.composer import LLMComposer

__all__ = ["LLMComposer", "chat_model", "model_label"]
