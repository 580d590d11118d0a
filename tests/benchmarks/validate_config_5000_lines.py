"""Time ``validate-config`` (parse + build models + lints) on a generated 5,000-line config.
Not collected by pytest.

Run: python3 tests/benchmarks/validate_config_5000_lines.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from framework.config.build import load_config


def generate(lines: int = 5000) -> str:
    """Servers with nested, regex and exact locations, limits, CGI, uploads and handlers."""
    out = ["# generated", "workers 2;", "client_max_body_size 1m;", ""]
    n = 0
    while len(out) < lines:
        n += 1
        out += [
            f"server {{  # site {n}",
            f"    listen 127.0.0.1:{8000 + n % 1000};",
            f"    server_name site{n}.example *.site{n}.example;",
            "    root www;",
            "    error_page 404 /errors/404.html;",
            "    error_page 500 502 503 504 /errors/50x.html;",
            "    keepalive_timeout 30s;",
            "    location / {",
            "        allow_methods GET HEAD;",
            "        index index.html index.htm;",
            "        location /docs/ { autoindex on; autoindex_format json; }",
            "    }",
            "    location ^~ /static/ { client_max_body_size 0; }",
            "    location ~* \\.(gif|jpg|png)$ {",
            "        types { image/gif gif; image/jpeg jpg; image/png png; }",
            "    }",
            "    location = /health { return 200 ok; }",
            "    location /old/ { return 301 /new/; }",
            "    location /cgi-bin/ {",
            "        cgi .py /usr/bin/python3;",
            "        cgi .sh;",
            "        cgi_timeout 10s;",
            "    }",
            "    location /upload/ {",
            "        upload_store uploads;",
            "        allow_methods GET POST PUT DELETE;",
            "        client_max_body_size 100m;",
            "    }",
            "    location /api/ { handler upload; send_timeout 5s; }",
            "}",
            "",
        ]
    return "\n".join(out) + "\n"


def main() -> None:
    text = generate()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.conf"
        path.write_text(text)
        load_config(path, check_fs=False)  # warm-up: imports, handler registration
        for check_fs in (False, True):
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                result = load_config(path, check_fs=check_fs)
                runs.append(time.perf_counter() - start)
            assert result.config is not None, result.errors[:3]
            servers = len(result.config.servers)
            print(
                f"{text.count(chr(10))} lines, {servers} servers, check_fs={check_fs}: "
                f"best {min(runs) * 1000:.0f} ms, median {sorted(runs)[2] * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
