"""What the language-model path costs beyond the model's own time, next to the offline answer.

    python bench/model_path.py [--questions FILE] [--repeats N] [--model-s SEARCH ANSWER REREAD]

A local OpenAI-compatible server on 127.0.0.1 stands in for the model (a search prompt gets
two QUERY lines; an answer prompt gets one sentence of its first passage, cited, and the same
sentence with a clause the passage does not give, which the check leaves in doubt; the
second reading of that sentence gets a verdict) and times its own work. Each question is answered on the offline path and on the model path (the real
langchain-openai client, search queries on, the context budget and the reply check) in the
same process. The model path's overhead per answer is its wall time minus the time the server
spent: everything our code adds around the model calls (two HTTP round trips, prompt
building, retrieval for the queries, the check, "More from the library").

Two passes, both printed:
- an instant model (it answers at once): nothing can overlap the model's time, so this is
  the worst case;
- a model that takes --model-s seconds (default 0.5 to write the queries, 2.0 to answer,
  0.5 to re-read the sentences in doubt; a fast hosted model's order): the work our code does while it waits (the question's own
  ranking, "More") then adds nothing, as it does for a user. Target: overhead p95 <= 150 ms
  on this pass. Prompt characters per answer are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_MS = 150.0


class InstantModel(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay_s = (0.0, 0.0, 0.0)  # the model's own time: search, answer, re-reading (s)
        self.rereads = 0
        self.server_s = 0.0
        self.prompt_chars: list[int] = []
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: InstantModel

    def log_message(self, *args):
        pass

    def do_POST(self):
        started = time.perf_counter()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        messages = body["messages"]
        user = messages[-1]["content"]
        if "search queries" in messages[0]["content"]:
            text = "QUERY: how districts chose pilot schools\nQUERY: readiness and need"
            time.sleep(self.server.delay_s[0])
        elif "<statements>" in user:
            time.sleep(self.server.delay_s[2])
            count = len(re.findall(r"^S\d+ \(cites", user, re.M))
            text = "\n".join(f"S{i}: SUPPORTED" for i in range(1, count + 1))
            with self.server.lock:
                self.server.rereads += 1
        else:
            time.sleep(self.server.delay_s[1])
            first = re.search(r'<passage n="1">\nSource: [^\n]*\n(.*?)\n</passage>', user, re.S)
            sentence = re.split(r"(?<=[.!?])\s", first.group(1).strip())[0] if first else ""
            doubt = (
                f"{sentence.rstrip('.!?')}, because leaders wanted steadier weekly routines [1]."
            )
            text = f"{sentence} [1]\n\n{doubt}" if sentence else "NOT_IN_LIBRARY"
            with self.server.lock:
                self.server.prompt_chars.append(sum(len(m["content"]) for m in messages))
        doc = {
            "id": "c1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(doc).encode()
        with self.server.lock:
            self.server.server_s += time.perf_counter() - started
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "devset.jsonl")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--model-s",
        type=float,
        nargs=3,
        default=(0.5, 2.0, 0.5),
        metavar=("SEARCH", "ANSWER", "REREAD"),
        help="the model's own time for the timed pass (seconds)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from assistant.answer.offline import OfflineComposer
    from assistant.core.settings import Settings
    from assistant.llm.composer import LLMComposer
    from assistant.service import load_assistant
    from eval.questions import load_set

    server = InstantModel()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings = Settings.from_env(
        llm="openai", openai_base_url=url, openai_api_key="bench", llm_timeout=30.0
    )
    bot = load_assistant(settings)
    model = LLMComposer.from_settings(settings)
    offline = OfflineComposer()
    questions = load_set([args.questions])
    bot.ask(questions[0].question, composer=model)  # warm both paths
    bot.ask(questions[0].question, composer=offline)
    print(f"questions: {len(questions)} x {args.repeats} ({args.questions})")
    print(f"{'figure':46} {'p50':>9} {'p95':>9}")
    search_s, answer_s, reread_s = args.model_s
    for delays in ((0.0, 0.0, 0.0), (search_s, answer_s, reread_s)):
        server.delay_s = delays
        server.prompt_chars.clear()
        server.rereads = 0
        offline_ms, model_ms, overhead_ms = [], [], []
        for _ in range(args.repeats):
            for q in questions:
                t = time.perf_counter()
                bot.ask(q.question, q.history, composer=offline)
                offline_ms.append((time.perf_counter() - t) * 1000)
                before = server.server_s
                t = time.perf_counter()
                bot.ask(q.question, q.history, composer=model)
                wall = (time.perf_counter() - t) * 1000
                model_ms.append(wall)
                overhead_ms.append(wall - (server.server_s - before) * 1000)
        timed = delays != (0.0, 0.0, 0.0)
        name = (
            f"model takes {search_s:g} s + {answer_s:g} s + {reread_s:g} s"
            if timed
            else "instant model"
        )
        print(f"-- {name}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'answers with a second reading':46} {server.rereads:>9} of {len(model_ms)}")
        print(f"{'offline answer (ms)':46} {pct(offline_ms, 50):9.1f} {pct(offline_ms, 95):9.1f}")
        print(f"{'model path, wall (ms)':46} {pct(model_ms, 50):9.1f} {pct(model_ms, 95):9.1f}")
        p95 = pct(overhead_ms, 95)
        verdict = f"  target p95 <= {TARGET_MS:g}: {'PASS' if p95 <= TARGET_MS else 'MISS'}"
        print(
            f"{'model path beyond the model (ms)':46} {pct(overhead_ms, 50):9.1f} {p95:9.1f}"
            f"{verdict if timed else '  (worst case: nothing overlaps)'}"
        )
    chars = server.prompt_chars
    if chars:
        print(
            f"{'answer prompt characters':46} {pct(chars, 50):9.0f} {pct(chars, 95):9.0f}"
            f"  (mean {sum(chars) / len(chars):,.0f}, n={len(chars)})"
        )
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
