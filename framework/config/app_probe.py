"""Import ``asgi``/``wsgi`` targets in child processes and say whether each is an app of the
right interface. Validation stays side-effect free in the validating process: importing an
app runs its module's code, so that happens in a child (``app_probe_child.py``) with the
server's ``sys.path`` plus ``asgi_app_dir``, with a timeout, its output captured and no
bytecode written. Distinct targets are probed in parallel, each once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PROBE_TIMEOUT = 30.0
"""Seconds an app may take to import before the check gives up (as a warning)."""

_CHILD = Path(__file__).with_name("app_probe_child.py")


@dataclass(frozen=True)
class AppProbe:
    """One target to check: ``kind`` (``asgi``/``wsgi``) ``module:attr`` (``factory``: the
    attribute is called to get the app) imported with ``app_dir`` first on ``sys.path``."""

    kind: str
    module: str
    attr: str
    factory: bool
    app_dir: Path | None


@dataclass
class ProbeResult:
    """What the child found. ``stage``: where it failed (``import``, ``attribute``,
    ``factory``, ``shape``) or ``timeout``/``crash`` when it did not answer."""

    ok: bool
    stage: str
    error: str = ""
    hint: str | None = None
    interface: str | None = None
    suggestions: list[str] = field(default_factory=list)
    output: str = ""


def child_path(app_dir: Path | None) -> list[str]:
    """The ``sys.path`` the server's import of an app sees: ours, ``app_dir`` first."""
    path = [p for p in sys.path]
    if app_dir is not None:
        path.insert(0, str(app_dir))
    return path


@dataclass(frozen=True)
class Account:
    """The account the children run as (the ``user`` workers drop to, when root)."""

    uid: int
    gid: int
    groups: tuple[int, ...] = ()


def probe_apps(
    probes: list[AppProbe], timeout: float | None = None, run_as: Account | None = None
) -> dict[AppProbe, ProbeResult]:
    """Each distinct probe's result; the children run side by side (for ``timeout``
    seconds, ``PROBE_TIMEOUT`` by default), as ``run_as`` when given (as the current user
    if that account cannot even start the interpreter)."""
    if timeout is None:
        timeout = PROBE_TIMEOUT
    running: dict[AppProbe, subprocess.Popen[str]] = {}
    results: dict[AppProbe, ProbeResult] = {}
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    for probe in dict.fromkeys(probes):
        request = {
            "path": child_path(probe.app_dir),
            "module": probe.module,
            "attr": probe.attr,
            "factory": probe.factory,
            "kind": probe.kind,
        }
        try:
            proc = _spawn(env, run_as)
        except OSError as exc:
            results[probe] = ProbeResult(False, "crash", f"cannot start {sys.executable}: {exc}")
            continue
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request))
        proc.stdin.close()
        proc.stdin = None  # written: communicate() must not flush it again
        running[probe] = proc
    deadline = time.monotonic() + timeout
    for probe, proc in running.items():
        results[probe] = _collect(proc, max(0.0, deadline - time.monotonic()), timeout)
    return results


def _spawn(env: dict[str, str], run_as: Account | None) -> subprocess.Popen[str]:
    try:
        return subprocess.Popen(
            [sys.executable, str(_CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # an app that forks cannot outlive the timeout's kill
            user=run_as.uid if run_as is not None else None,
            group=run_as.gid if run_as is not None else None,
            extra_groups=list(run_as.groups) if run_as is not None else None,
        )
    except PermissionError:
        if run_as is None:
            raise
        return _spawn(env, None)  # the interpreter is not the account's to run


def _collect(proc: subprocess.Popen[str], left: float, timeout: float) -> ProbeResult:
    try:
        out, err = proc.communicate(timeout=left)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        return ProbeResult(False, "timeout", f"importing took longer than {timeout:g}s", output=err)
    try:
        answer = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = err.strip().splitlines()[-1] if err.strip() else f"exit status {proc.returncode}"
        return ProbeResult(False, "crash", f"the import ended the process: {last}", output=err)
    return ProbeResult(
        ok=bool(answer.get("ok")),
        stage=str(answer.get("stage", "")),
        error=str(answer.get("error") or ""),
        hint=answer.get("hint"),
        interface=answer.get("interface"),
        suggestions=list(answer.get("suggestions") or []),
        output=err,
    )


def _kill_group(proc: subprocess.Popen[str]) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
