"""examples/deploy/: the systemd units verify, the nginx and HAProxy configs pass their own
checkers, the logrotate snippet parses, and the Dockerfile runs as a non-root user with a
health check (the webserv configs themselves are validated by tests/test_examples.py).
Each check skips when its tool is not installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nginx_reference import NGINX, requires_nginx

DEPLOY = Path(__file__).resolve().parents[2] / "examples" / "deploy"


def installed_webserv() -> str:
    return shutil.which("webserv") or str(Path(sys.executable).with_name("webserv"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_units_verify(tmp_path):
    # the unit names /usr/local/bin/webserv; verify checks that it exists, so point it at ours
    for name in ("webserv.service", "webserv.socket"):
        text = (DEPLOY / name).read_text().replace("/usr/local/bin/webserv", installed_webserv())
        (tmp_path / name).write_text(text)
    proc = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            str(tmp_path / "webserv.service"),
            str(tmp_path / "webserv.socket"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    unit = (DEPLOY / "webserv.service").read_text()
    assert "Type=notify" in unit and "ExecReload=/bin/kill -HUP $MAINPID" in unit


@requires_nginx
def test_the_nginx_in_front_config_passes_nginx_t(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};\n"
        "events {}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path};\n"
        f"proxy_temp_path {tmp_path};\n{(DEPLOY / 'nginx-in-front.nginx').read_text()}\n}}\n"
    )
    proc = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_the_haproxy_config_passes_haproxy_c():
    proc = subprocess.run(
        ["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_haproxy_and_webserv_sides_agree_on_proxy_protocol():
    haproxy = (DEPLOY / "haproxy.cfg").read_text()
    webserv = (DEPLOY / "behind-haproxy.conf").read_text()
    (port,) = re.findall(r"server \S+ 127\.0\.0\.1:(\d+) .*send-proxy-v2", haproxy)
    assert f"listen 127.0.0.1:{port} proxy_protocol;" in webserv
    assert "real_ip_header proxy_protocol;" in webserv


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="logrotate is not installed")
def test_the_logrotate_snippet_parses_and_signals_usr1(tmp_path):
    proc = subprocess.run(
        [
            "logrotate",
            "--debug",
            "--state",
            str(tmp_path / "state"),
            str(DEPLOY / "webserv.logrotate"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "kill -USR1" in (DEPLOY / "webserv.logrotate").read_text()


def test_the_dockerfile_runs_unprivileged_with_a_healthcheck():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert "EXPOSE 8080" in lines
    assert "listen 8080;" in (DEPLOY / "container.conf").read_text()
