"""A small JSON-RPC client that drives ``webserv lsp`` over real stdio pipes, with the
``Content-Length`` framing editors use."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

# a guard against a hung server, not a performance threshold
REPLY_TIMEOUT = 60.0


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """One framed message from ``stream``; None at end of stream."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    assert length is not None, "a message without Content-Length"
    body = stream.read(length)
    assert len(body) == length, "the stream ended inside a message"
    message: dict[str, Any] = json.loads(body)
    return message


def frame(message: dict[str, Any]) -> bytes:
    """``message`` as the bytes an editor writes."""
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class LspClient:
    """``webserv lsp`` as a subprocess. Messages the server sends are collected by a reader
    thread; ``request`` waits for its response, ``notification`` for a notification."""

    def __init__(self, cwd: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "framework", "lsp", *extra_args],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.pending: list[dict[str, Any]] = []
        self.stderr_chunks: list[bytes] = []
        self.next_id = 1
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while (message := read_message(self.proc.stdout)) is not None:
            self.inbox.put(message)
        self.inbox.put(None)

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        while chunk := os.read(fd, 4096):
            self.stderr_chunks.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    # -- sending ---------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(frame({"jsonrpc": "2.0", **message}))
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any = None) -> Any:
        """Send a request and return its result (raises on an error response)."""
        request_id = self.next_id
        self.next_id += 1
        self.send({"id": request_id, "method": method, "params": params})
        reply = self._wait(lambda m: m.get("id") == request_id and "method" not in m)
        assert "error" not in reply, f"{method} failed: {reply['error']}\n{self.stderr}"
        return reply.get("result")

    # -- receiving -------------------------------------------------------------------------
    def notification(self, method: str, uri: str | None = None) -> dict[str, Any]:
        """The params of the next ``method`` notification (for ``uri`` when given)."""

        def wanted(m: dict[str, Any]) -> bool:
            if m.get("method") != method:
                return False
            return uri is None or m["params"].get("uri") == uri

        return self._wait(wanted)["params"]  # type: ignore[no-any-return]

    def _wait(self, wanted: Any) -> dict[str, Any]:
        for i, message in enumerate(self.pending):
            if wanted(message):
                return self.pending.pop(i)
        while True:
            try:
                received = self.inbox.get(timeout=REPLY_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no reply from the server\nstderr:\n{self.stderr}") from None
            if received is None:
                raise AssertionError(f"the server closed stdout\nstderr:\n{self.stderr}")
            message = received
            if wanted(message):
                return message
            if message.get("method") == "workspace/configuration" or (
                "id" in message and "method" in message
            ):
                self.send({"id": message["id"], "result": None})  # server-to-client requests
                continue
            self.pending.append(message)

    # -- the session -----------------------------------------------------------------------
    def initialize(self, root: Path) -> dict[str, Any]:
        result = self.request(
            "initialize",
            {"processId": None, "rootUri": root.as_uri(), "capabilities": {}},
        )
        self.notify("initialized", {})
        return result  # type: ignore[no-any-return]

    def open(self, path: Path, text: str) -> str:
        uri = path.as_uri()
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "webserv", "version": 1, "text": text}},
        )
        return uri

    def change(self, uri: str, version: int, text: str) -> None:
        self.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"text": text}],
            },
        )

    def close(self) -> int:
        """shutdown, exit, and the exit code."""
        if self.proc.poll() is None:
            self.request("shutdown")
            self.notify("exit")
        return self.wait()

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=REPLY_TIMEOUT)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:  # a broken pipe to a dead server
                    pass
