"""The model path measured without a reachable model: a chat backend that replays replies
written by stand-ins (GUIDE §6), for evaluation only.

`ReplayChatModel` keys each prompt by a hash of its messages. It answers from
`DIR/replies/<key>.md` when a stand-in wrote one; otherwise it records the prompt as
`DIR/prompts/<key>.md` (the messages as plain text, which is all a stand-in sees) and answers
`NOT_IN_LIBRARY`, which every prompt of ours reads as "nothing usable" (the answer prompt's
refusal; a search prompt without QUERY lines). A run:

    python -m eval.standin record DIR --questions FILE      # 1. record the prompts
    # 2. stand-ins who see only DIR/prompts/*.md write DIR/replies/<key>.md
    python -m eval.standin record DIR --questions FILE      # 3. a second round records the
                                                            #    prompts the replies lead to
    lbw eval --questions FILE --replies DIR                 # 4. scored (and --pairs to grade)

The replies stay in the repo: a later change to the checks is re-scored on them as they are;
a change to a prompt changes its key, and those prompts need new replies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

MISSING_REPLY = "NOT_IN_LIBRARY"


def prompt_key(messages: list[BaseMessage]) -> str:
    """A stable key of a prompt: sha256 of its messages' roles and texts, 20 hex digits."""
    data = json.dumps([[m.type, m.text] for m in messages], ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:20]


def prompt_text(messages: list[BaseMessage]) -> str:
    """A prompt as a stand-in reads it: each message under its role."""
    role = {"system": "SYSTEM", "human": "USER", "ai": "ASSISTANT"}
    return "\n\n".join(
        f"===== {role.get(m.type, m.type.upper())} =====\n{m.text}" for m in messages
    )


class ReplayChatModel(BaseChatModel):
    """Answers each prompt from a folder of replies; records the prompts it has none for."""

    folder: Path
    calls: list[str] = Field(default_factory=list)  # keys, in order
    missing: list[str] = Field(default_factory=list)  # keys recorded without a reply

    @property
    def _llm_type(self) -> str:
        return "replay"

    def reply(self, messages: list[BaseMessage]) -> str:
        key = prompt_key(messages)
        self.calls.append(key)
        found = self.folder / "replies" / f"{key}.md"
        if found.is_file():
            return found.read_text(encoding="utf-8")
        prompts = self.folder / "prompts"
        prompts.mkdir(parents=True, exist_ok=True)
        (prompts / f"{key}.md").write_text(prompt_text(messages), encoding="utf-8")
        self.missing.append(key)
        return MISSING_REPLY

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.reply(messages)))])


def replay_composer(folder: str | Path, settings):
    """The language-model composer over a replay model, as `lbw eval --replies` uses it."""
    from assistant.llm.composer import LLMComposer

    return LLMComposer.from_settings(settings, ReplayChatModel(folder=Path(folder)), "stand-in")


def settle(timeout: float = 30.0) -> None:
    """Wait until no model call started for the last question is still running: a confident
    refusal returns while its search call is under way, and that call's key is the
    question's, not the next one's."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        t.name in ("lbw-search", "lbw-llm") for t in threading.enumerate()
    ):
        time.sleep(0.01)


def record(folder: Path, questions: Path) -> dict[str, Any]:
    """Ask every question through the replay model; prompts without replies are recorded."""
    from assistant.core.settings import Settings
    from assistant.service import load_assistant
    from eval.questions import load_set

    settings = Settings.from_env()
    composer = replay_composer(folder, settings)
    bot = load_assistant(settings, composer=composer)
    asked = 0
    keys: dict[str, list[str]] = {}
    for q in load_set([questions]):
        before = len(composer.model.calls)
        bot.ask(q.question, q.history)
        settle()
        keys[q.id] = composer.model.calls[before:]
        asked += 1
    (folder / "keys.json").write_text(json.dumps(keys, indent=1), encoding="utf-8")
    return {"questions": asked, "recorded": len(set(composer.model.missing))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.standin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="ask a question set, recording prompts with no reply")
    rec.add_argument("folder", type=Path)
    rec.add_argument("--questions", type=Path, required=True)
    args = parser.parse_args(argv)
    result = record(args.folder, args.questions)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
