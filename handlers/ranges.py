"""``Range: bytes=...`` parsing (RFC 9110 §14), linear and with a capped range count."""

from __future__ import annotations

from dataclasses import dataclass

MAX_RANGES = 16
MAX_HEADER = 1024


@dataclass(frozen=True, slots=True)
class RangeDecision:
    """What to send: ``kind`` is "full" (200, header ignored), "partial" (206 of
    ``offset``/``length``) or "unsatisfiable" (416)."""

    kind: str
    offset: int = 0
    length: int = 0


FULL = RangeDecision("full")
UNSATISFIABLE = RangeDecision("unsatisfiable")


def _digits(text: str) -> int | None:
    # never int() on raw input: it accepts "+5", " 5" and "1_0"
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def parse_range(header: str | None, size: int) -> RangeDecision:
    """Decide how to answer ``Range: header`` for a representation of ``size`` bytes.

    A syntactically bad header, too many ranges, or several satisfiable ranges give "full"
    (we do not send multipart); none satisfiable gives "unsatisfiable"; exactly one
    satisfiable range gives "partial".
    """
    if header is None or len(header) > MAX_HEADER:
        return FULL
    unit, eq, spec = header.partition("=")
    if not eq or unit.lower() != "bytes":
        return FULL
    parts = spec.split(",")
    if len(parts) > MAX_RANGES:
        return FULL
    chosen: RangeDecision | None = None
    satisfiable = 0
    for part in parts:
        part = part.strip(" \t")
        if not part:
            continue  # RFC 9110 allows empty list elements
        first, dash, last = part.partition("-")
        if not dash:
            return FULL
        if first:
            start = _digits(first)
            end = _digits(last) if last else size - 1
            if start is None or end is None or (last and end < start):
                return FULL
            if start >= size:
                continue
            end = min(end, size - 1)
        else:
            suffix = _digits(last)
            if suffix is None:
                return FULL
            if suffix == 0 or size == 0:
                continue
            start = max(0, size - suffix)
            end = size - 1
        satisfiable += 1
        chosen = RangeDecision("partial", start, end - start + 1)
    if satisfiable == 0:
        return UNSATISFIABLE if any(p.strip(" \t") for p in parts) else FULL
    if satisfiable > 1:
        return FULL
    assert chosen is not None
    return chosen
