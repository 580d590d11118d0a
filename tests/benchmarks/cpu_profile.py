"""Run a module under cProfile timed by CPU time (not wall time), writing the stats on exit.

    python tests/benchmarks/cpu_profile.py OUT.prof -m framework run CONF

Profiling starts on SIGUSR2 (send it once the server is warm and the load begins), so
start-up and imports stay out of the figures, and stops when the module returns.

On a 2-core machine shared by the load generator, the upstreams and other work, a wall-clock
profile charges the time a process waits to be scheduled to whatever call it was in (often
``socket.send``, which wakes the receiver on loopback). Timing with ``time.process_time``
counts only the CPU the server itself used. The server stops on SIGTERM as usual, so the
stats are written when it returns.
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
import time


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "-m":
        raise SystemExit(__doc__)
    out, module = sys.argv[1], sys.argv[3]
    sys.argv = [module, *sys.argv[4:]]
    profile = cProfile.Profile(time.process_time)
    signal.signal(signal.SIGUSR2, lambda *_: profile.enable())
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
