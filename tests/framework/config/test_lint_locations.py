"""Location lints: prefixes shadowed by regexes, regexes hidden by earlier ones, partial
steals; and a differential check of those claims against a running nginx."""

from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from framework.config.lint_locations import literal_of
from framework.routing.locations import LocationMatcher


def server(*locations: str) -> str:
    body = "\n".join(
        f"    location {loc} {{ return 200 '{i}'; }}" for i, loc in enumerate(locations)
    )
    return f"server {{\n    listen 127.0.0.1:8080;\n{body}\n}}\n"


def findings(result, rule: str) -> list[str]:
    return [d.message for d in result.diagnostics if d.rule == rule]


def test_a_prefix_location_every_uri_of_which_a_regex_takes_is_unreachable(load):
    (msg,) = findings(load(server("~ ^/api", "/api/v1")), "unreachable-location")
    assert msg.startswith('location "/api/v1" is never used: the regex "location ~ ^/api"')
    assert "sampled" not in msg


def test_caret_tilde_and_exact_locations_are_not_shadowed_by_regexes(load):
    result = load(server("~ ^/api", "^~ /api/v1", "= /api/v2"))
    assert findings(result, "unreachable-location") == []


def test_a_regex_after_a_catch_all_regex_is_unreachable_exactly(load):
    (msg,) = findings(load(server("~ .*", "~ ^/late")), "unreachable-location")
    assert 'location "~ ^/late" can never match' in msg and "sampled" not in msg


def test_a_case_sensitive_regex_does_not_hide_a_caseless_one(load):
    result = load(server("~ ^/api", "~* ^/api/x", "~ \\.py$", "~* \\.py$"))
    assert findings(result, "unreachable-location") == []
    # the other way round, the caseless one takes everything
    (msg,) = findings(load(server("~* ^/up", "~ ^/UP/x")), "unreachable-location")
    assert '"~ ^/UP/x" can never match' in msg


def test_a_regex_hidden_by_an_earlier_alternation_or_class_is_proven_unreachable(load):
    cases = [
        ("~ ^/(a|b)/x", "~ ^/a/x\\d+$"),
        ("~* \\.(css|js|png)$", "~* ^/assets/.+\\.(css|js)$"),
        ("~ ^/files/[0-9]/", "~ ^/files/[0-4]/x"),
        ("~ ^/(en|de|fr|es)/", "~ ^/(en|es)/docs"),
        ("~ /", "~* ^/Z/"),  # "/" has no case: the earlier regex takes every variant
    ]
    for first, later in cases:
        result = load(server(first, later))
        (diag,) = [d for d in result.diagnostics if d.rule == "unreachable-location"]
        assert diag.severity == "warning", (first, later)
        assert f'location "{later}" can never match' in diag.message, diag.message
        assert "sampled" not in diag.message


def test_no_false_unreachable_when_an_alternative_or_class_member_escapes(load):
    # each later regex takes some URIs the earlier one refuses (/it/, /a.map, /5/, v2...)
    cases = [
        ("~ ^/(en|de|fr|es)/", "~ ^/(en|de|fr|it)/"),
        ("~* \\.(css|js|png)$", "~* ^/assets/.+\\.(css|js|png|map)$"),
        ("~ ^/files/[0-4]/", "~ ^/files/[0-9]/"),
        ("~ ^/api/v1/", "~ ^/api/v\\d+/"),
        ("~ ^/z", "~* ^/Z/"),
        ("~ \\.PHP$", "~* \\.php$"),
        ("~ ^/(a|b|c|d|e|f)x", "~ ^/[a-g]x"),
    ]
    for first, later in cases:
        result = load(server(first, later))
        assert findings(result, "unreachable-location") == [], (first, later)
        # and the LocationMatcher that serves requests agrees: some URI reaches the later one
        (srv,) = result.config.servers
        second = srv.locations[1]
        uris = ["/it/", "/assets/a.map", "/files/7/", "/api/v2/", "/Z/", "/a.php", "/gx"]
        assert any(LocationMatcher(srv).match(u) is second for u in uris), (first, later)


def test_a_sampled_unreachable_claim_is_info_only(load):
    # the lookahead makes the earlier regex impossible to enumerate: samples, not a proof
    result = load(server("~* /\\.(?!well-known/)", "~ /\\.git"))
    (diag,) = [d for d in result.diagnostics if d.rule == "unreachable-location"]
    assert diag.severity == "info"
    assert "looks unreachable" in diag.message and "(sampled, not proven)" in diag.message


def test_a_regex_that_an_earlier_one_only_partly_covers_is_reachable(load):
    result = load(server("~ ^/(a|b)/x", "~ ^/a/y", "~ ^/api/(?!internal)", "~ ^/api/internal"))
    assert findings(result, "unreachable-location") == []


def test_a_partial_steal_is_one_info_finding_per_regex(load):
    result = load(server("/images/", "~* \\.(gif|jpg)$", "~ \\.png$", "/", "/docs/"))
    infos = [d for d in result.diagnostics if d.rule == "location-partly-shadowed"]
    assert all(d.severity == "info" for d in infos)
    messages = sorted(d.message for d in infos)
    assert messages == [
        'location "~ \\.png$" takes some URIs from the prefix locations "/images/" and '
        '"/docs/" (e.g. /images/a.png)',
        'location "~* \\.(gif|jpg)$" takes some URIs from the prefix locations "/images/" and '
        '"/docs/" (e.g. /images/a.gif)',
    ]  # "/" is left out
    assert {d.span.line for d in infos} == {4, 5}  # on the regexes


def test_partial_steals_name_a_few_prefixes_then_count(load):
    prefixes = [f"/p{i}/" for i in range(6)]
    result = load(server(*prefixes, "~ \\.php$"))
    (msg,) = findings(result, "location-partly-shadowed")
    assert '"/p0/", "/p1/", "/p2/" and 3 more (e.g. /p0/a.php)' in msg


def test_a_regex_that_only_refuses_may_cut_into_every_prefix(load):
    # h5bp's security_file_access.conf: dotfiles and backup files are denied everywhere
    text = (
        "server {\n    listen 127.0.0.1:8080;\n"
        "    location ~* /\\.(?!well-known\\/) { deny all; }\n"
        "    location ~* (?:#.*#|\\.(?:bak|conf|dist|in[ci]|log|sw[op])|~)$ { deny all; }\n"
        "    location ~ \\.php$ { access_log off; return 404; }\n"
        "    location /api/ { return 200; }\n    location /static/ { expires 1d; }\n}\n"
    )
    assert findings(load(text), "location-partly-shadowed") == []
    # the same regexes doing something else are reported, with example URIs one can send
    text = text.replace("deny all;", "expires 1d;").replace("return 404;", "expires 1d;")
    messages = findings(load(text), "location-partly-shadowed")
    assert len(messages) == 3
    for msg in messages:
        example = msg.rsplit("(e.g. ", 1)[1].rstrip(")")
        assert example.startswith(("/api/", "/static/")), msg
        assert "#" not in example and "/." != example[-2:] and "/./" not in example, msg
        assert '"/api/" and "/static/"' in msg


def test_the_examples_findings_are_the_intended_partial_steals(load):
    root = Path(__file__).resolve().parents[3] / "examples"
    for name, regex, prefix in [
        ("static.conf", "~* \\.(txt|json)$", "/files/"),
        ("compression/compression.conf", "~* \\.svgz$", "/assets/"),
    ]:
        result = load((root / name).read_text())
        (msg,) = findings(result, "location-partly-shadowed")
        assert msg.startswith(f'location "{regex}" takes some URIs from the prefix location ')
        assert f'"{prefix}" (e.g. {prefix}a.' in msg


def test_literal_of_handles_alternation_escapes_and_optional_characters():
    assert literal_of("^/a|/b").text == ""
    assert literal_of("^/a(x)|/b").text == ""
    assert literal_of("^/a[|]").text == "/a"
    assert literal_of("^/a\\d").text == "/a"
    assert literal_of("^/ab?c").text == "/a"
    assert literal_of("^/api.*").complete and literal_of("^/api.*").anchored
    assert not literal_of("^/api$").complete


NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
)
CASES = ["~ ^/api", "/api/v1", "~ .*", "~ ^/late", "/images/", "~* \\.(gif|jpg)$"]
# URI -> which location answers it (index in CASES), as the lints claim
EXPECTED = {"/api/v1/x": 0, "/late/x": 2, "/images/a.gif": 2, "/images/a.png": 2, "/zz": 2}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
def test_nginx_chooses_the_locations_the_lints_claim(tmp_path, load):
    result = load(server(*CASES))
    unreachable = findings(result, "unreachable-location")
    assert len(unreachable) == 4  # /api/v1, ~ ^/late, /images/, ~* \.(gif|jpg)$
    port = _free_port()
    body = "\n".join(
        f"        location {loc} {{ return 200 '{i}'; }}" for i, loc in enumerate(CASES)
    )
    (tmp_path / "logs").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        "events { worker_connections 16; }\n"
        f"http {{ access_log off; server {{ listen 127.0.0.1:{port};\n{body}\n    }} }}\n"
    )
    check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)],
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        answers = {}
        for uri in EXPECTED:
            for _ in range(200):  # until nginx listens
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{uri}", timeout=5) as r:
                        answers[uri] = int(r.read())
                    break
                except ConnectionRefusedError:
                    proc.poll()
                    assert proc.returncode is None, proc.stderr.read() if proc.stderr else ""
                except urllib.error.URLError as exc:
                    if not isinstance(exc.reason, ConnectionRefusedError):
                        raise
        assert answers == EXPECTED
    finally:
        proc.terminate()
        proc.wait(timeout=10)
