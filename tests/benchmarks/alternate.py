"""Alternating rounds, medians and a cProfile pass: what the issue 11 benchmarks share.

Every server of a benchmark runs side by side (idle unless measured); each round measures
every server once, in turn, so load from elsewhere on the shared machine hits them alike.
A measurement returns how many operations (requests, messages) were done and the rate;
the server's CPU time over the measurement (user + system of its processes, from /proc)
divided by the operations is the steadier figure on a noisy machine. Results are medians
over the rounds.
"""

from __future__ import annotations

import contextlib
import io
import os
import pstats
import shutil
import signal
import statistics
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import descendants, process


@dataclass
class Server:
    """A server under test: the command that runs it and the port it listens on."""

    name: str
    cmd: list[str]
    port: int
    env: dict[str, str] | None = None
    pid: int = 0


@dataclass
class Figures:
    """One server's measurements over the rounds."""

    rates: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    sys_us: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else float("nan")

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_us) if self.cpu_us else float("nan")

    @property
    def sys(self) -> float:
        """The kernel's part of ``cpu`` (median)."""
        return statistics.median(self.sys_us) if self.sys_us else float("nan")


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of ``pid`` and its descendants so far, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
    return user / tick, system / tick


# measure(server) -> (rate per second, operations done, errors)
Measure = Callable[[Server], tuple[float, int, int]]


@contextlib.contextmanager
def running(
    servers: Sequence[Server], cwd: Path, check: Callable[[Server], str | None] | None = None
) -> Iterator[list[Server]]:
    """Start every server (all up at once); yield those that started and pass ``check``
    (which returns a problem or None), saying why for the others; stop them all at the end."""
    with contextlib.ExitStack() as stack:
        up = []
        for server in servers:
            try:
                server.pid = stack.enter_context(
                    process(server.cmd, server.port, cwd=cwd, env=server.env)
                ).pid
            except RuntimeError as exc:
                print(f"skipped {server.name}: did not start ({exc})", flush=True)
                continue
            problem = check(server) if check else None
            if problem:
                print(f"skipped {server.name}: {problem}", flush=True)
                continue
            up.append(server)
        yield up


def alternate(
    servers: Sequence[Server],
    measure: Measure,
    rounds: int,
    label: str = "",
    unit: str = "req/s",
    per: str = "request",
) -> dict[str, Figures]:
    """Measure each server once per round, in turn; print each round; return the figures."""
    out: dict[str, Figures] = {s.name: Figures() for s in servers}
    for round_no in range(rounds):
        for server in servers:
            user0, sys0 = cpu_split(server.pid)
            rate, done, errors = measure(server)
            user1, sys1 = cpu_split(server.pid)
            used = (user1 + sys1 - user0 - sys0) / max(done, 1) * 1e6
            kernel = (sys1 - sys0) / max(done, 1) * 1e6
            figures = out[server.name]
            figures.rates.append(rate)
            figures.cpu_us.append(used)
            figures.sys_us.append(kernel)
            figures.errors += errors
            print(
                f"round {round_no + 1}: {label}{server.name}: {rate:.0f} {unit}, "
                f"{used:.1f} us CPU/{per} ({kernel:.1f} us system)"
                + (f", {errors} errors" if errors else ""),
                flush=True,
            )
    return out


def ratio_row(workload: str, ours: Figures, theirs: Figures, target: float, unit: str) -> str:
    """A Markdown table row: both rates, the ratio against the target, both CPU costs.

    On a shared machine the rate ratio swings from round to round; the CPU ratio (the peer's
    CPU per operation over ours: the rate ratio both would reach if each had a core of its
    own) is steadier. The status says "met" only when both reach the target."""
    ratio = ours.rate / theirs.rate
    cpu_ratio = theirs.cpu / ours.cpu
    if ours.errors:
        status = "**errors**"
    elif ratio >= target and cpu_ratio >= target:
        status = "met"
    elif ratio >= target or cpu_ratio >= target:
        status = "met by " + ("req/s" if ratio >= target else "CPU") + " only"
    else:
        status = "**missed**"
    return (
        f"| {workload} | {ours.rate:.0f} {unit} | {theirs.rate:.0f} {unit} | "
        f"{ratio:.2f}x | >= {target}x | {status} | {ours.cpu:.1f} us | {theirs.cpu:.1f} us | "
        f"{cpu_ratio:.2f}x |"
    )


TABLE_HEAD = (
    "| workload | webserv | peer | ratio | target | status | webserv CPU/op | "
    "peer CPU/op | CPU ratio (peer/webserv) |\n|---|---|---|---|---|---|---|---|---|"
)


def profiled(cmd: list[str]) -> tuple[list[str], Path]:
    """``cmd`` (a ``python -m framework run CONF`` command) run under a CPU-time cProfile
    (``cpu_profile.py``), and the file its profile is written to when the server stops."""
    out = Path(cmd[-1]).with_suffix(".prof")
    wrapper = Path(__file__).parent / "cpu_profile.py"
    return [sys.executable, str(wrapper), str(out), *cmd[1:]], out


def profile_summary(prof: Path, top: int = 25) -> str:
    """The top functions of a cProfile file, by own time and by cumulative time (the file
    is copied into ``$WEBSERV_BENCH_KEEP_PROFILES`` when that names a directory)."""
    if not prof.exists():
        return f"(no profile written at {prof})"
    keep = os.environ.get("WEBSERV_BENCH_KEEP_PROFILES")  # a directory to copy it into
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(prof, Path(keep) / prof.name)
    buf = io.StringIO()
    stats = pstats.Stats(str(prof), stream=buf)
    buf.write(share_by_file(stats) + "\n")
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_callers(8)
    return buf.getvalue()


def fetch(port: int, path: str = "/", timeout: float = 10.0) -> tuple[int, bytes]:
    """One plain GET on a fresh connection: (status, body); (0, error text) on failure."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


def share_by_file(stats: pstats.Stats, top: int = 20) -> str:
    """Each source file's share of the profile's own time (C functions under their name)."""
    total = stats.total_tt or 1.0  # type: ignore[attr-defined]
    shares: dict[str, float] = {}
    for (path, _, func), row in stats.stats.items():  # type: ignore[attr-defined]
        parts = Path(path).parts
        key = "/".join(parts[-2:]) if len(parts) > 1 else func
        shares[key] = shares.get(key, 0.0) + row[2]
    lines = [
        f"{100 * t / total:5.1f}%  {key}"
        for key, t in sorted(shares.items(), key=lambda kv: -kv[1])[:top]
    ]
    return "share of own time by file:\n" + "\n".join(lines)


def start_profile(pid: int) -> None:
    """Tell a server run through ``profiled`` to start profiling now."""
    os.kill(pid, signal.SIGUSR2)
