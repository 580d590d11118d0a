"""What auth_basic costs the worker (not collected by pytest).

    python3 tests/benchmarks/bench_auth_basic.py [--repeat 20]

Hash checks run on the event loop (no threads in the I/O core), so one check's time is
added to the latency of every other client of that worker. Prints, per scheme and cost,
the median time of ``verify`` (a wrong password: what every failed attempt costs) and of
``UserFile.check`` repeating accepted credentials (the verified cache: one stat and a
digest).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bcrypt  # noqa: E402
from passlib.hash import apr_md5_crypt, ldap_salted_sha1, sha512_crypt  # noqa: E402

from framework.htpasswd import Entry, UserFile, scheme_of, verify  # noqa: E402


def _bcrypt(cost: int) -> str:
    return bcrypt.hashpw(b"pw", bcrypt.gensalt(cost)).decode().replace("$2b$", "$2y$", 1)


CASES = {
    "bcrypt $2y$ cost 5": lambda: _bcrypt(5),
    "bcrypt $2y$ cost 10": lambda: _bcrypt(10),
    "bcrypt $2y$ cost 12": lambda: _bcrypt(12),
    "SHA-512 crypt 5000 rounds": lambda: sha512_crypt.using(rounds=5000).hash("pw"),
    "SHA-512 crypt 656000 rounds (passlib default)": lambda: sha512_crypt.hash("pw"),
    "apr1": lambda: apr_md5_crypt.hash("pw"),
    "{SSHA}": lambda: ldap_salted_sha1.hash("pw"),
}


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'scheme':48} {'wrong password':>15} {'cached accept':>14}")
        for name, make in CASES.items():
            hashed = make()
            entry = Entry(hashed, 1, scheme_of(hashed))
            repeat = max(3, args.repeat // 10) if "656000" in name else args.repeat
            wrong = _median_ms(lambda entry=entry: verify(b"wrong", entry), repeat)
            path = Path(tmp) / "users"
            path.write_text(f"u:{hashed}\n")
            users = UserFile(path)
            users.check(b"u", b"pw")
            cached = _median_ms(lambda users=users: users.check(b"u", b"pw"), args.repeat)
            print(f"{name:48} {wrong:12.2f} ms {cached * 1000:10.1f} us")


if __name__ == "__main__":
    main()
