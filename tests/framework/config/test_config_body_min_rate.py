"""``client_body_min_rate SIZE;`` (H S L, default 500 bytes/s, 0 = off): parsed as a size,
inherited like client_body_timeout, refused when it is not a size."""

from __future__ import annotations

from pathlib import Path

from framework.config.build import load_config


def load(tmp_path: Path, text: str):
    path = tmp_path / "site.conf"
    path.write_text(text)
    return load_config(path)


def test_default_is_500_bytes_per_second(tmp_path):
    result = load(tmp_path, "server { listen 8080; location / { } }\n")
    assert result.config is not None
    assert result.config.servers[0].locations[0].client_body_min_rate == 500


def test_a_size_is_inherited_and_a_location_may_turn_it_off(tmp_path):
    text = (
        "client_body_min_rate 2k;\n"
        "server { listen 8080; location /a/ { } location /b/ { client_body_min_rate 0; } }\n"
    )
    result = load(tmp_path, text)
    assert result.config is not None
    a, b = result.config.servers[0].locations
    assert (a.client_body_min_rate, b.client_body_min_rate) == (2048, 0)


def test_a_value_that_is_not_a_size_is_an_error_at_its_place(tmp_path):
    result = load(tmp_path, "server { listen 8080;\n  client_body_min_rate fast;\n}\n")
    assert result.config is None
    (diag,) = [d for d in result.diagnostics if d.severity == "error"]
    assert "client_body_min_rate" in diag.message
    assert diag.span.line == 2
