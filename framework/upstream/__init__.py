"""Outbound HTTP/1.x to upstream servers on the worker's loop: non-blocking connections
(``connection``), response parsing (``response``), per-worker keep-alive pools (``pool``)
and peer selection with passive health checks (``balancer``). No threads: sockets are
registered with the loop, writes go through ``WriteQueue`` and reads into a ``ChunkQueue``
whose high-water mark pauses reading, so both directions keep memory bounded."""
