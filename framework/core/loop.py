"""Event loop selection: uvloop when installed and allowed, else the standard asyncio loop.

``event_loop asyncio;`` in the config, or ``WEBSERV_EVENT_LOOP=asyncio`` in the environment
(the environment wins, so a test suite can force either loop), picks the standard loop.
"""

from __future__ import annotations

import asyncio
import os
import signal

LOOP_ENV = "WEBSERV_EVENT_LOOP"


def loop_kind(configured: str = "auto") -> str:
    """'uvloop' or 'asyncio' for the configured choice (auto|asyncio|uvloop)."""
    choice = os.environ.get(LOOP_ENV, "").strip().lower() or configured
    if choice == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise RuntimeError("event_loop uvloop: uvloop is not installed") from None
        return "asyncio"
    return "uvloop"


def new_event_loop(configured: str = "auto") -> asyncio.AbstractEventLoop:
    """A fresh event loop of the configured kind, with SIGPIPE kept ignored (a dead peer
    must surface as EPIPE on the write, never kill the process)."""
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if loop_kind(configured) == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.SelectorEventLoop()
