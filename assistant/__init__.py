"""Look Both Ways Assistant: cited answers from a curated library for school-system leaders.

Front door:
    from assistant import Settings, load_assistant
    bot = load_assistant(Settings.from_env())
    answer = bot.ask("How did others handle need vs readiness?")

With LBW_LLM=openai|ollama|anthropic (see README) a language model writes the answers and
assistant.llm.verify checks every sentence against the passage it cites.
"""

from assistant.core.errors import IndexMissing, InvalidHistory, InvalidQuestion, LbwError
from assistant.core.settings import Settings
from assistant.core.types import Answer, Chunk, Citation, Filters, Passage, Turn

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "Filters",
    "IndexMissing",
    "InvalidHistory",
    "InvalidQuestion",
    "LbwError",
    "Passage",
    "Settings",
    "Turn",
    "load_assistant",
]


def load_assistant(settings: Settings | None = None, **kwargs):
    """Open the published index and return a ready `Assistant` (raises IndexMissing)."""
    from assistant.service import load_assistant as _load

    return _load(settings or Settings.from_env(), **kwargs)
