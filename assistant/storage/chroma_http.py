"""Chroma's HTTP client with a time limit on every request (LBW_CHROMA_TIMEOUT).

chromadb 1.5's client builds its httpx session with `timeout=None`: a server that accepts
the connection and never answers (a stopped process, a hung proxy) kept `lbw ask` waiting
for ten minutes and more, and `lbw ingest` likewise. Two steps bound it:

- the client asks the server for its tenant while it is constructed, before any setting of
  ours can reach its session; so it is constructed in a daemon thread that is waited for at
  most the time limit (a thread left blocked on a silent server does not keep the process
  alive);
- the constructed client's session then gets the limit for every later request (its
  `_server._session`, an httpx.Client: the one private attribute this relies on).

Imported only when a server is configured, since it imports chromadb.
"""

from __future__ import annotations

import threading
from typing import Any


def timed_client(
    host: str, port: int, headers: dict[str, str] | None, timeout: float, settings: Any
):
    """`chromadb.HttpClient(...)` whose construction and every request give up after
    `timeout` seconds (TimeoutError, or httpx's ReadTimeout from a request)."""
    import chromadb
    import httpx

    made: dict[str, Any] = {}

    def make() -> None:
        try:
            made["client"] = chromadb.HttpClient(
                host=host, port=port, headers=headers, settings=settings
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            made["error"] = exc

    worker = threading.Thread(target=make, name="lbw-chroma-connect", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer from {host}:{port} within {timeout:g} s")
    if "error" in made:
        raise made["error"]
    client = made["client"]
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is not None:
        session.timeout = httpx.Timeout(timeout)
    return client
