"""Test kit: run a real webserv on a free port and talk to it.

For plugin authors and for webserv's own end-to-end tests::

    from framework.testing import ServerProcess

    def test_greeting(tmp_path):
        with ServerProcess('server { listen 127.0.0.1:{port}; location / { handler greeting; } }',
                           cwd=tmp_path) as srv:
            r = srv.get("/")
            assert r.status == 200

``{port}`` in the config text is replaced by a free port (also exported to the server as
``$WEBSERV_TEST_PORT``). ``files={"www/index.html": "hi"}`` writes files under ``cwd``
first; ``pythonpath=[dir]`` makes plugin modules in ``dir`` importable by the server. The
server's stdout and stderr are captured (``srv.stdout``, ``srv.stderr``). ``srv.client()``
opens a keep-alive ``Client``. The pytest fixture ``webserv`` (see
``framework.pytest_plugin``) wraps all this.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

EXIT_CANNOT_BIND = 3  # `webserv run`'s exit code when a listen address is taken


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class HTTPResult:
    """One parsed response: ``status``, ``reason``, ``headers`` (name, value pairs), ``body``."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive), else ``default``."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")


class _Drain(threading.Thread):
    """Collects a pipe's output so the server never blocks writing logs."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.chunks: list[bytes] = []
        self.cond = threading.Condition()

    def run(self) -> None:
        for line in iter(self.stream.readline, b""):
            with self.cond:
                self.chunks.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        with self.cond:
            return b"".join(self.chunks).decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout: float, alive) -> bool:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if regex.search(b"".join(self.chunks).decode("utf-8", "replace")):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or not alive():
                    return bool(regex.search(b"".join(self.chunks).decode("utf-8", "replace")))
                self.cond.wait(min(left, 0.2))


@dataclass
class ServerProcess:
    """A webserv subprocess serving ``config`` (text with ``{port}``) from ``cwd``."""

    config: str | None = None
    cwd: Path | str | None = None
    config_path: Path | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    startup_timeout: float = 15.0
    proc: subprocess.Popen | None = None
    files: dict[str, str | bytes] = field(default_factory=dict)
    pythonpath: tuple[Path | str, ...] | list[Path | str] = ()
    python: str = sys.executable  # e.g. a venv's interpreter, to test an installed plugin

    def __post_init__(self) -> None:
        self.cwd = Path(self.cwd) if self.cwd is not None else Path.cwd()
        # a port we picked may be taken by someone else before the server binds it (tests
        # in parallel): then ``start`` picks another one and tries again
        self._own_port = not self.port and self.config is not None and self.config_path is None
        if not self.port:
            self.port = free_port(self.host)
        write_files(self.cwd, self.files)
        if self.config is not None and self.config_path is None:
            self.config_path = Path(self.cwd) / "webserv-test.conf"
            self.config_path.write_text(self.config.replace("{port}", str(self.port)))

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> ServerProcess:
        """Start the server and wait until it listens; raises if it does not start."""
        for _ in range(3 if self._own_port else 1):
            if self._launch() or self.proc is None or self.proc.returncode != EXIT_CANNOT_BIND:
                break
            assert self.config is not None and self.config_path is not None
            self.port = free_port(self.host)
            self.config_path.write_text(self.config.replace("{port}", str(self.port)))
        assert self.proc is not None
        if self.proc.poll() is not None or not self._ready:
            self.kill()
            raise RuntimeError(
                f"webserv did not start (exit {self.proc.returncode}):\n"
                f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
            )
        return self

    def _launch(self) -> bool:
        """One attempt: True once the server listens."""
        cmd = [self.python, "-m", "framework", "run"]
        if self.config_path is not None:
            cmd.append(str(self.config_path))
        cmd.extend(self.args)
        env = dict(os.environ)
        env.update(self.env)
        if self.pythonpath:
            extra = [str(Path(p).resolve()) for p in self.pythonpath]
            current = env.get("PYTHONPATH")
            env["PYTHONPATH"] = os.pathsep.join(extra + ([current] if current else []))
        env["WEBSERV_TEST_PORT"] = str(self.port)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._out = _Drain(self.proc.stdout)
        self._err = _Drain(self.proc.stderr)
        self._out.start()
        self._err.start()
        self._ready = self.wait_ready()
        if not self._ready and self.proc.poll() is None:
            self.kill()
        return self._ready

    def wait_ready(self) -> bool:
        """True once the server accepts connections on ``port``."""
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            # the startup line names the URL once the sockets are listening
            if self._out.wait_for(rf":{self.port}\b", 0.2, lambda: self.proc.poll() is None):
                return self.proc.poll() is None
        return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Send ``sig`` and wait for exit; returns the exit code (kills after ``timeout``)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.join(5)
        self._err.join(5)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the server (no graceful stop)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- observation -----------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The server process id."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def stdout(self) -> str:
        """Everything the server printed on stdout so far."""
        return self._out.text()

    @property
    def stderr(self) -> str:
        """Everything the server printed on stderr so far."""
        return self._err.text()

    def wait_for_log(self, pattern: str, timeout: float = 10.0, stream: str = "stderr") -> bool:
        """Wait until the regex ``pattern`` appears in ``stream``; False on timeout."""
        drain = self._err if stream == "stderr" else self._out
        return drain.wait_for(pattern, timeout, lambda: True)

    def rss_kib(self) -> int:
        """Resident set size of the server process (VmRSS from /proc), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def open_fds(self) -> int:
        """Number of file descriptors the server process holds open."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def children(self) -> list[int]:
        """PIDs whose parent is the server (zombies included)."""
        kids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.pid:
                kids.append(int(entry))
        return kids

    # -- clients -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        return f"http://{self.host}:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HTTPResult:
        """One request on a new connection (http.client); a ``str`` body is sent UTF-8."""
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return HTTPResult(resp.status, resp.reason, resp.getheaders(), data)
        finally:
            conn.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> HTTPResult:
        """``GET path``; the parsed response."""
        return self.request("GET", path, headers=headers)

    def client(self, timeout: float = 10.0) -> Client:
        """A ``Client`` that keeps one connection open across requests."""
        return Client(self.host, self.port, timeout=timeout)

    def connect(self, timeout: float = 10.0) -> socket.socket:
        """A raw TCP connection to the server."""
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def raw(self, data: bytes, timeout: float = 5.0) -> bytes:
        """Send raw bytes on a fresh connection and read until the server closes it (or
        ``timeout`` passes with nothing more arriving)."""
        with self.connect(timeout) as sock:
            sock.sendall(data)
            return read_until_close(sock, timeout)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it is true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while being read
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def write_files(base: Path, files: dict[str, str | bytes]) -> None:
    """Write ``{relative path: text or bytes}`` under ``base``, creating directories.
    A path ending in ``/`` creates an empty directory."""
    for rel, content in files.items():
        target = base / rel
        if rel.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def read_until_close(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Bytes received on ``sock`` until the peer closes or resets it, or ``timeout``
    seconds pass without data."""
    sock.settimeout(timeout)
    parts = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        parts.append(chunk)
    return b"".join(parts)


class ResponseReader:
    """Reads successive responses from one connection, keeping bytes that arrive early
    (pipelined responses) for the next call."""

    def __init__(self, sock: socket.socket | None, data: bytes = b"") -> None:
        self.sock = sock  # None: parse ``data`` only
        self.buf = bytearray(data)

    def _fill(self) -> None:
        if self.sock is None:
            raise ConnectionError(f"incomplete response: {bytes(self.buf[:200])!r}")
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed; unparsed: {bytes(self.buf[:200])!r}")
        self.buf += chunk

    def read(self, *, head_only: bool = False) -> HTTPResult:
        """One response (Content-Length, chunked or close-delimited framing); ``head_only``
        for the answer to a HEAD request."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        end = self.buf.index(b"\r\n\r\n")
        lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        del self.buf[: end + 4]
        _, status, *reason = lines[0].split(" ", 2)
        headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
        result = HTTPResult(int(status), reason[0] if reason else "", headers, b"")
        if head_only or result.status in (204, 304) or 100 <= result.status < 200:
            return result
        length = result.header("content-length")
        if length is not None:
            need = int(length)
            while len(self.buf) < need:
                self._fill()
            result.body = bytes(self.buf[:need])
            del self.buf[:need]
            return result
        if (result.header("transfer-encoding") or "").lower() == "chunked":
            out = bytearray()
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                line_end = self.buf.index(b"\r\n")
                size = int(bytes(self.buf[:line_end]).split(b";")[0], 16)
                del self.buf[: line_end + 2]
                if size == 0:
                    while b"\r\n" not in self.buf:  # trailers end with an empty line
                        self._fill()
                    while not self.buf.startswith(b"\r\n"):
                        del self.buf[: self.buf.index(b"\r\n") + 2]
                        while b"\r\n" not in self.buf:
                            self._fill()
                    del self.buf[:2]
                    break
                while len(self.buf) < size + 2:
                    self._fill()
                out += self.buf[:size]
                del self.buf[: size + 2]
            result.body = bytes(out)
            return result
        rest = read_until_close(self.sock) if self.sock is not None else b""
        result.body = bytes(self.buf) + rest
        self.buf.clear()
        return result


def parse_response(data: bytes, *, head_only: bool = False) -> tuple[HTTPResult, bytes]:
    """Parse the response at the start of ``data`` (bytes already received, e.g. with
    ``read_until_close``); returns it and the bytes after it: the next pipelined response,
    or what should not be there (a body after the answer to a HEAD)."""
    reader = ResponseReader(None, data)
    result = reader.read(head_only=head_only)
    return result, bytes(reader.buf)


_readers: weakref.WeakKeyDictionary[socket.socket, ResponseReader] = weakref.WeakKeyDictionary()


def read_response(sock: socket.socket, *, head_only: bool = False) -> HTTPResult:
    """Read the next response from ``sock`` (bytes read ahead are kept per socket)."""
    reader = _readers.get(sock)
    if reader is None:
        reader = _readers[sock] = ResponseReader(sock)
    return reader.read(head_only=head_only)


class Client:
    """A minimal HTTP/1.1 client on one keep-alive connection (reconnects when the server
    closed it). ``Host`` and ``Content-Length`` are added when missing::

        with srv.client() as c:
            assert c.get("/").status == 200
            assert c.request("POST", "/echo", b"hi").body == b"hi"
    """

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.reader: ResponseReader | None = None
        self.connections = 0  # how many TCP connections were opened so far

    def _connection(self) -> tuple[socket.socket, ResponseReader]:
        if self.sock is None or self.reader is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.reader = ResponseReader(self.sock)
            self.connections += 1
        return self.sock, self.reader

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
    ) -> HTTPResult:
        """Send one request and read its response on the kept-alive connection."""
        pairs = list(headers.items() if isinstance(headers, dict) else headers or [])
        names = {k.lower() for k, _ in pairs}
        data = body.encode() if isinstance(body, str) else body
        if "host" not in names:
            pairs.insert(0, ("Host", f"{self.host}:{self.port}"))
        if (
            data is not None
            and "content-length" not in names
            and ("transfer-encoding" not in names)
        ):
            pairs.append(("Content-Length", str(len(data))))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in pairs)
        sock, reader = self._connection()
        try:
            sock.sendall(head.encode("latin-1") + b"\r\n" + (data or b""))
            result = reader.read(head_only=method == "HEAD")
        except OSError:
            self.close()
            raise
        if (result.header("connection") or "").lower() == "close":
            self.close()
        return result

    def get(self, path: str, headers: dict[str, str] | None = None) -> HTTPResult:
        """``GET path``; the parsed response."""
        return self.request("GET", path, headers=headers)

    def close(self) -> None:
        """Close the connection."""
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.reader = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
