"""``map`` variables that name each other: validate-config reports ``variable-cycle``
(an error), and at run time the request is answered 500 at once ("cycle while
evaluating variable", as nginx) instead of expanding every level below exponentially."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework.config.build import load_config
from framework.config.directives_map import MapTable
from framework.config.models import LocationConfig
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.variables import expand

CYCLE = """
map $http_x $y { default $z; }
map $uri $z { default "$y$y$y$y$y$y$y$y$y$y$y$y$y$y$y$y$y$y$y$y"; }
server { listen 127.0.0.1:8080; location / { add_header X-Y $y; return 200 "ok"; } }
"""


def test_validate_config_reports_the_cycle(tmp_path: Path):
    path = tmp_path / "webserv.conf"
    path.write_text(CYCLE)
    result = load_config(path, check_fs=False, env={})
    found = [d for d in result.diagnostics if d.rule == "variable-cycle"]
    assert result.config is None
    assert sorted(d.message for d in found) == [
        'cycle while evaluating variable "y": $y -> $z -> $y',
        'cycle while evaluating variable "z": $z -> $y -> $z',
    ]
    assert all(d.severity == "error" for d in found)


def test_maps_without_a_cycle_are_not_reported(tmp_path: Path):
    path = tmp_path / "webserv.conf"
    path.write_text(
        "map $uri $a { default $b$b; }\nmap $uri $b { default x; }\n"
        'server { listen 127.0.0.1:8080; location / { return 200 "$a"; } }\n'
    )
    result = load_config(path, check_fs=False, env={})
    assert not [d for d in result.diagnostics if d.rule == "variable-cycle"]
    assert result.config is not None


def test_a_cycle_at_run_time_is_a_500(capfd: pytest.CaptureFixture[str]):
    location = LocationConfig(
        maps={
            "y": MapTable(source="$http_x", variable="y", default="$z"),
            "z": MapTable(source="$uri", variable="z", default="$y" * 20),
        }
    )
    request = Request("GET", "/", "/", "", Headers())
    request.location = location
    with pytest.raises(HTTPError) as raised:
        expand("[$y]", request)
    assert raised.value.status == 500
    logged = capfd.readouterr().err
    assert logged.count('cycle while evaluating variable "y"') == 1
