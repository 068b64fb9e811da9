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
    proc: subprocess.Popen | None = None  # the `chroma run` process (a test may kill it)

    @property
    def env(self) -> dict[str, str]:
        return {"LBW_CHROMA_HOST": self.host, "LBW_CHROMA_PORT": str(self.port)}


@contextmanager
def chroma_server(path: Path, timeout: float = 60.0) -> Iterator[ChromaServer]:
    # The server's data folder holds the passages' metadata: private, as the README says.
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
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
        yield ChromaServer("127.0.0.1", port, path, proc)
    finally:
        stop(proc)
        log.close()


@contextmanager
def token_proxy(upstream: ChromaServer, token: str) -> Iterator[ChromaServer]:
    """A reverse proxy on 127.0.0.1 that forwards to `upstream` only with the bearer token.

    Chroma 1.x's server has no auth of its own; a district puts a proxy like this one (nginx,
    Envoy) in front of it. The test checks that LBW_CHROMA_TOKEN reaches such a proxy.
    """
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {token}":
                body = b'{"error": "Unauthorized", "message": "missing or wrong token"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection(upstream.host, upstream.port, timeout=30)
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "connection", "authorization")
            }
            conn.request(self.command, self.path, body=data, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ChromaServer("127.0.0.1", server.server_address[1], upstream.path)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
