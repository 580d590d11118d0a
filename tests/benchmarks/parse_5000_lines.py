"""Time parsing a generated 5,000-line config (not collected by pytest).

Run: python3 tests/benchmarks/parse_5000_lines.py
"""

from __future__ import annotations

import time

from config_grammar.fmt import format_text
from config_grammar.parser import parse_text


def generate(lines: int = 5000) -> str:
    """A realistic config: servers with locations, comments, quotes and env references."""
    out = ["# generated", "workers ${WORKERS:-2};", ""]
    n = 0
    while len(out) < lines:
        n += 1
        out += [
            f"server {{  # site {n}",
            f"    listen 127.0.0.1:{8000 + n % 1000};",
            f'    server_name site{n}.example "www.site{n}.example";',
            "    root www;",
            "    error_page 404 /errors/404.html;",
            "    location / { allow_methods GET; index index.html; }",
            "    location ~* \\.(gif|jpg|png)$ {",
            "        root 'static';",
            "        autoindex on;",
            "    }",
            "    location /cgi-bin/ { cgi .py /usr/bin/python3; }",
            "}",
            "",
        ]
    return "\n".join(out) + "\n"


def main() -> None:
    text = generate()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        result = parse_text(text, "bench.conf", env={})
        best = min(best, time.perf_counter() - start)
    assert result.ok, result.diagnostics
    print(f"parse_text: {len(text.splitlines())} lines in {best * 1000:.1f} ms (best of 5)")
    start = time.perf_counter()
    format_text(text)
    print(f"format_text: {(time.perf_counter() - start) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
