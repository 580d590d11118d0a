"""Per-worker connection and request counters (read by the ``status`` example plugin)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class Stats:
    accepted: int = 0  # connections accepted
    handled: int = 0  # connections closed after being served
    requests: int = 0  # requests answered
    active: int = 0  # open client connections
    reading: int = 0  # connections reading a request head
    writing: int = 0  # connections with a request in progress
    waiting: int = 0  # idle keep-alive connections

    def snapshot(self) -> dict[str, int]:
        return asdict(self)


stats = Stats()
