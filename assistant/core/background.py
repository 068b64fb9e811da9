"""Work started now and read later, on a daemon thread.

The model path waits on a remote model twice per answer (the search queries, the answer);
work that does not depend on its reply (the question's own ranking, "More from the library")
runs meanwhile, so it adds nothing beyond the model's time. Daemon threads, not an executor:
a model that hangs until its deadline must never keep the process from exiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def in_background(fn: Callable[..., T], *args: object, name: str = "lbw-ahead") -> Future[T]:
    """Start `fn(*args)` on a daemon thread; its result (or exception) is the future's."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to whoever reads the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
