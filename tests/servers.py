"""Local servers for tests: a `chroma run` on 127.0.0.1 and free-port helpers.

Each server is started on a free port of 127.0.0.1, waited for with a bounded poll, and
terminated (then killed if it lingers) when the fixture ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    """Poll `check()` until it is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)


def chroma_executable() -> str:
    """The `chroma` CLI of the interpreter running the tests (the venv's chromadb)."""
    local = Path(sys.executable).parent / "chroma"
    return str(local) if local.exists() else (shutil.which("chroma") or "chroma")


@dataclass
class ChromaServer:
    host: str
    port: int
    path: Path

    @property
    def env(self) -> dict[str, str]:
        return {"LBW_CHROMA_HOST": self.host, "LBW_CHROMA_PORT": str(self.port)}


@contextmanager
def chroma_server(path: Path, timeout: float = 60.0) -> Iterator[ChromaServer]:
    port = free_port()
    log = (path.parent / f"chroma-{port}.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [
            chroma_executable(),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--path",
            str(path),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    try:
        wait_for(
            lambda: urllib.request.urlopen(url, timeout=2).status == 200,
            timeout,
            "chroma run",
            proc,
        )
        yield ChromaServer("127.0.0.1", port, path)
    finally:
        stop(proc)
        log.close()
