"""`webserv validate-config --no-fs` on h5bp's server-configs-nginx, as a user porting it runs
it: nginx.conf with the conf.d templates it includes, the plain-HTTP set-up as vendored and
the TLS one its README describes, the TLS template alone as a fragment (``--prefix``), and
the port docs/porting.md shows. Every nginx-only directive or parameter is reported as
``unsupported-nginx-directive``, a warning with advice and never a did-you-mean, once per
place in the source even when several servers include the file. The whole config gives
nothing else; a fragment alone also lacks the map variables nginx.conf defines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

H5BP = Path(__file__).parent / "h5bp"

# (file, line, rule, the text the finding points at) for the set-up as vendored
PLAIN = [
    ("nginx.conf", 21, "unsupported-nginx-directive", "worker_rlimit_nofile"),
    ("nginx.conf", 26, "unsupported-nginx-directive", "events"),
    ("nginx.conf", 68, "unsupported-nginx-directive", "log_format"),
    ("nginx.conf", 76, "unsupported-nginx-directive", "main"),
    ("nginx.conf", 91, "unsupported-nginx-directive", "sendfile"),
    ("nginx.conf", 97, "unsupported-nginx-directive", "tcp_nopush"),
    ("conf.d/no-ssl.default.conf", 19, "unsupported-nginx-directive", "deferred"),
    ("conf.d/no-ssl.default.conf", 20, "unsupported-nginx-directive", "deferred"),
]
# `include custom.d/*.conf;` (line 53) gives nothing with --no-fs: upstream does not ship
# custom.d/, and whether it exists is about the machine (nginx includes nothing, silently)
# the TLS templates add `http2` on their listen lines, and the shared session cache of
# h5bp/tls/ssl_engine.conf: once, though the three TLS servers include it
TLS = [
    ("conf.d/default.conf", 13, "unsupported-nginx-directive", "http2"),
    ("conf.d/default.conf", 14, "unsupported-nginx-directive", "http2"),
    ("conf.d/example.com.conf", 13, "unsupported-nginx-directive", "http2"),
    ("conf.d/example.com.conf", 14, "unsupported-nginx-directive", "http2"),
    ("conf.d/example.com.conf", 29, "unsupported-nginx-directive", "http2"),
    ("conf.d/example.com.conf", 30, "unsupported-nginx-directive", "http2"),
    ("h5bp/tls/ssl_engine.conf", 35, "unsupported-nginx-directive", "shared:SSL:10m"),
]


def validate(root: Path) -> tuple[int, list[dict[str, object]]]:
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--no-fs", "--format", "json",
         "nginx.conf"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )  # fmt: skip
    return proc.returncode, json.loads(proc.stdout)


def findings(root: Path, diagnostics: list[dict[str, object]]) -> list[tuple[str, int, str, str]]:
    """Each diagnostic as (file, line, rule, the source text its span covers)."""
    out = []
    for d in diagnostics:
        file, line = str(d["file"]), int(str(d["line"]))
        assert d["end_line"] == line, d
        text = (root / file).read_text().splitlines()[line - 1]
        out.append(
            (file, line, str(d["rule"]), text[int(str(d["col"])) - 1 : int(str(d["end_col"])) - 1])
        )
    return sorted(out)


def assert_porting_advice(diagnostics: list[dict[str, object]]) -> None:
    for d in diagnostics:
        if d["rule"] == "unsupported-nginx-directive":
            assert d["severity"] == "warning", d
            assert d["hint"] and "did you mean" not in str(d["hint"]), d


def test_h5bp_as_vendored_gives_only_porting_advice() -> None:
    code, diagnostics = validate(H5BP)
    assert code == 0
    assert findings(H5BP, diagnostics) == sorted(PLAIN)
    assert_porting_advice(diagnostics)


@pytest.fixture
def h5bp_tls(tmp_path: Path) -> Path:
    """h5bp set up for TLS as its README says: the templates copied into conf.d/ and enabled."""
    root = tmp_path / "h5bp"
    shutil.copytree(H5BP, root)
    conf_d = root / "conf.d"
    for plain in conf_d.glob("no-ssl.*"):
        plain.unlink()
    (conf_d / ".default.conf").rename(conf_d / "default.conf")
    shutil.copy(root / "ssl.example.com.conf.template", conf_d / "example.com.conf")
    return root


def test_h5bp_with_its_tls_templates_gives_only_porting_advice_once_per_place(
    h5bp_tls: Path,
) -> None:
    code, diagnostics = validate(h5bp_tls)
    assert code == 0
    plain_main = [f for f in PLAIN if f[0] == "nginx.conf"]
    assert findings(h5bp_tls, diagnostics) == sorted(plain_main + TLS)
    assert_porting_advice(diagnostics)
    http2 = [d for d in diagnostics if "http2" in str(d["message"])]
    assert len(http2) == 6 and all("HTTP/1.1" in str(d["hint"]) for d in http2)
    (cache,) = [d for d in diagnostics if "shared:SSL:10m" in str(d["message"])]
    assert "`ssl_session_cache builtin:40000;`" in str(cache["hint"])
    assert cache["notes"] == [
        "also included from conf.d/example.com.conf:18:3",
        "also included from conf.d/example.com.conf:35:3",
    ]


def test_h5bp_ported_as_docs_porting_md_shows_validates_clean_even_with_strict(
    tmp_path: Path,
) -> None:
    """h5bp-to-webserv.diff is the port docs/porting.md walks through: applied to the
    vendored copy, validate-config --strict has nothing left to say."""
    root = tmp_path / "h5bp"
    shutil.copytree(H5BP, root)
    patch = (Path(__file__).parent / "h5bp-to-webserv.diff").read_text()
    subprocess.run(["patch", "-p1", "--quiet"], input=patch, text=True, cwd=root, check=True)
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--no-fs", "--strict",
         "nginx.conf"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout.strip()) == (0, "no errors or warnings")
    # the port keeps what h5bp's nginx.conf configures: max_connections for the events block
    assert "max_connections 8000;" in (root / "nginx.conf").read_text()


def test_the_tls_template_as_a_fragment_with_prefix_misses_only_the_main_config_s_maps() -> None:
    """--prefix resolves the fragment's includes against h5bp's root, as nginx -p would; the
    fragment alone then lacks only what nginx.conf defines for it: three map variables."""
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--no-fs", "--format", "json",
         "--prefix", ".", "ssl.example.com.conf.template"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=H5BP,
    )  # fmt: skip
    assert proc.returncode == 1
    diagnostics = json.loads(proc.stdout)
    found = sorted((str(d["rule"]), str(d["message"]).split('"')[1]) for d in diagnostics)
    assert found == sorted(
        [("unsupported-nginx-directive", "http2")] * 4
        + [("unsupported-nginx-directive", "shared:SSL:10m")]
        + [("unknown-variable", name) for name in ("referrer_policy", "x_frame_options", "cors")]
    )
    assert not any(d["rule"] == "include-not-found" for d in diagnostics)
    assert_porting_advice(diagnostics)


@pytest.mark.parametrize("output", ["text", "json", "sarif"])
def test_prefix_dot_names_included_files_as_a_user_writes_them_in_every_format(
    output: str,
) -> None:
    """`--prefix .` resolves "h5bp/basic.conf" as "./h5bp/basic.conf"; the diagnostics
    still name it "h5bp/basic.conf" (and "included from" likewise)."""
    proc = subprocess.run(
        [sys.executable, "-m", "framework", "validate-config", "--no-fs", "--format", output,
         "--prefix", ".", "conf.d/no-ssl.example.com.conf"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=H5BP,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "h5bp/security/referrer-policy.conf" in proc.stdout
    assert "h5bp/basic.conf" in proc.stdout
    assert "./" not in proc.stdout
