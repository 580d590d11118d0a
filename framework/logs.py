"""The error log and the access logs.

Error log (for everyone)::

    from framework.logs import error_log
    error_log.warning("cgi %s: stderr line: %s", script, line)
    error_log.exception("handler failed")        # inside ``except``: adds the traceback

Lines look like nginx's: ``2026/01/02 03:04:05 [error] 1234#0: message``. The target and
level come from ``error_log PATH|stderr [debug|info|warn|error];`` (``configure_error_log``).

``reopen_logs()`` (SIGUSR1, as nginx does for logrotate) reopens the error log file and every
open access log by path, so a renamed log is replaced by a new file at the configured path.

Access logs (``access_log PATH|stdout|off [combined|json];``) are buffered and written once
per loop iteration (``AccessLog.log`` schedules the flush), so a burst of requests costs one
write, and the loop never blocks on logging for long.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from framework.config.models import AccessLog as AccessLogConfig
    from framework.config.models import ErrorLog as ErrorLogConfig
    from framework.http.request import Request

LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}


class ErrorLog:
    """Leveled, line-oriented log to stderr or a file (nginx's line format)."""

    def __init__(self) -> None:
        self.level = LEVELS["warn"]
        self._fd = 2
        self._path: Path | None = None

    def configure(self, target: str | Path = "stderr", level: str = "warn") -> None:
        """Send lines to ``target`` ('stderr' or a file path, appended) from ``level`` up.

        Raises ``OSError`` if the file cannot be opened; the current target is then kept."""
        if target == "stderr" or target is None:
            fd, path = 2, None
        else:
            path = Path(target)
            fd = _open_log(path)
        self._swap(fd, path)
        self.level = LEVELS.get(level, LEVELS["warn"])

    def reopen(self) -> None:
        """Reopen the log file by its path (after logrotate renamed it); stderr stays."""
        if self._path is None:
            return
        try:
            fd = _open_log(self._path)
        except OSError as exc:
            self.error("cannot reopen error log %s: %s", self._path, exc.strerror or exc)
            return
        self._swap(fd, self._path)

    def _swap(self, fd: int, path: Path | None) -> None:
        old = self._fd if self._path is not None else None
        self._fd, self._path = fd, path
        if old is not None and old != fd:
            os.close(old)

    def logs_to_file(self) -> bool:
        """Whether lines go to a file (not stderr)."""
        return self._path is not None

    def enabled(self, level: str) -> bool:
        return LEVELS[level] >= self.level

    def log(self, level: str, msg: str, *args: object) -> None:
        if LEVELS[level] < self.level:
            return
        if args:
            try:
                msg = msg % args
            except (TypeError, ValueError):
                msg = " ".join([msg, *map(str, args)])
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        line = f"{stamp} [{level}] {os.getpid()}#0: {msg}\n"
        try:
            os.write(self._fd, line.encode("utf-8", "replace"))
        except OSError:
            pass

    def debug(self, msg: str, *args: object) -> None:
        self.log("debug", msg, *args)

    def info(self, msg: str, *args: object) -> None:
        self.log("info", msg, *args)

    def warning(self, msg: str, *args: object) -> None:
        self.log("warn", msg, *args)

    warn = warning

    def error(self, msg: str, *args: object) -> None:
        self.log("error", msg, *args)

    def exception(self, msg: str, *args: object) -> None:
        """``error`` plus the traceback of the exception being handled."""
        self.log("error", msg + "\n" + traceback.format_exc().rstrip(), *args)


error_log = ErrorLog()


def _open_log(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)


def configure_error_log(config: ErrorLogConfig) -> None:
    """Apply the ``error_log`` directive."""
    error_log.configure(config.target, config.level)


def reopen_logs() -> None:
    """SIGUSR1: reopen the error log and every open access log file at its configured path."""
    error_log.reopen()
    for log in list(_open_access_logs):
        log.reopen()
    error_log.info("reopened the log files")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_stamp_cache: tuple[int, str] = (0, "")


def _time_local(now: float) -> str:
    global _stamp_cache
    sec = int(now)
    if _stamp_cache[0] != sec:
        t = time.localtime(sec)
        off = t.tm_gmtoff // 60
        sign = "+" if off >= 0 else "-"
        off = abs(off)
        text = (
            f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {sign}{off // 60:02d}{off % 60:02d}"
        )
        _stamp_cache = (sec, text)
    return _stamp_cache[1]


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class AccessLog:
    """One access-log destination (stdout or a file) with its format."""

    def __init__(self, target: str | Path, fmt: str = "combined") -> None:
        self.format = fmt
        if target == "stdout":
            self._fd = sys.stdout.fileno()
            self._owned = False
        else:
            self._fd = _open_log(Path(target))
            self._owned = True
            _open_access_logs.add(self)
        self._path = Path(target)
        self._lines: list[str] = []
        self._scheduled = False

    def log(self, request: Request, status: int, sent: int) -> None:
        """Record one answered request (written at the end of this loop iteration)."""
        now = time.time()
        headers = request.headers
        client = request.client[0] or "-"
        user = request.remote_user
        if self.format == "json":
            line = json.dumps(
                {
                    "time": now,
                    "remote_addr": client,
                    "remote_user": user,
                    "method": request.original_method,
                    "uri": request.original_uri,
                    "protocol": f"HTTP/{request.http_version}",
                    "status": status,
                    "bytes_sent": sent,
                    "referer": headers.get("referer", ""),
                    "user_agent": headers.get("user-agent", ""),
                    "host": request.host,
                }
            )
        else:
            line = (
                f"{client} - {_quote(user) if user else '-'} [{_time_local(now)}] "
                f'"{_quote(request.original_method)} '
                f'{_quote(request.original_uri)} HTTP/{request.http_version}" {status} {sent} '
                f'"{_quote(headers.get("referer", "-") or "-")}" '
                f'"{_quote(headers.get("user-agent", "-") or "-")}"'
            )
        self._lines.append(line)
        if not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:
                self.flush()

    def flush(self) -> None:
        """Write the buffered lines now."""
        self._scheduled = False
        if not self._lines:
            return
        data = ("\n".join(self._lines) + "\n").encode("utf-8", "replace")
        self._lines.clear()
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._fd, view)
            except OSError:  # full non-blocking pipe or closed target: drop, never spin
                return
            view = view[n:]

    def reopen(self) -> None:
        """Write what is buffered, then reopen the file by its path (stdout stays)."""
        if not self._owned:
            return
        self.flush()
        try:
            fd = _open_log(self._path)
        except OSError as exc:
            error_log.error("cannot reopen access log %s: %s", self._path, exc.strerror or exc)
            return
        old, self._fd = self._fd, fd
        os.close(old)

    def close(self) -> None:
        self.flush()
        if self._owned:
            _open_access_logs.discard(self)
            self._owned = False
            fd, self._fd = self._fd, -1  # a late line is dropped, never written to a reused fd
            os.close(fd)


# every AccessLog holding a file open, for reopen_logs()
_open_access_logs: weakref.WeakSet[AccessLog] = weakref.WeakSet()


class AccessLogs:
    """One ``AccessLog`` per distinct destination, shared by every location using it."""

    def __init__(self) -> None:
        self._logs: dict[tuple[str, str], AccessLog] = {}

    def get(self, config: AccessLogConfig) -> AccessLog | None:
        """The log for a location's ``access_log`` setting (None when off)."""
        if config.target == "off":
            return None
        key = (str(config.target), config.format)
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = AccessLog(config.target, config.format)
        return log

    def flush(self) -> None:
        for log in self._logs.values():
            log.flush()

    def close(self) -> None:
        for log in self._logs.values():
            log.close()
        self._logs.clear()
