"""Unit tests of the argument value parsers (pure functions)."""

from __future__ import annotations

import re

import pytest

from config_grammar.tree import Arg, Span
from framework.config.values import (
    ValueProblem,
    compile_regex,
    parse_flag,
    parse_listen_address,
    parse_method,
    parse_size,
    parse_status,
    parse_time,
)

SPAN = Span("t.conf", 1, 1, 1, 2)


def arg(value: str) -> Arg:
    return Arg(value, SPAN, value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("512", 512), ("8k", 8192), ("8K", 8192), ("1m", 1 << 20), ("2G", 2 << 30)],
)
def test_sizes_accept_bytes_and_k_m_g_suffixes(text, expected):
    assert parse_size(arg(text), "client_max_body_size") == expected


@pytest.mark.parametrize("text", ["", "-1", "1.5m", "10mb", "m", "1 m", "0x10", "1t"])
def test_sizes_reject_garbage_and_negative_numbers(text):
    with pytest.raises(ValueProblem) as info:
        parse_size(arg(text), "client_max_body_size")
    assert info.value.rule == "invalid-size"
    assert info.value.message == f'invalid size "{text}" in "client_max_body_size" directive'


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30", 30.0), ("30s", 30.0), ("500ms", 0.5), ("5m", 300.0), ("1h", 3600.0), ("0", 0.0)],
)
def test_times_take_ms_s_m_h_and_a_bare_number_is_seconds(text, expected):
    assert parse_time(arg(text), "send_timeout") == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "-5s", "5x", "s", "1y", "five"])
def test_times_reject_unknown_units(text):
    with pytest.raises(ValueProblem) as info:
        parse_time(arg(text), "send_timeout")
    assert info.value.rule == "invalid-time"


def test_on_off_flags_use_nginx_wording_for_other_values():
    assert parse_flag(arg("on"), "autoindex") is True
    assert parse_flag(arg("off"), "autoindex") is False
    with pytest.raises(ValueProblem) as info:
        parse_flag(arg("yes"), "autoindex")
    assert info.value.message == (
        'invalid value "yes" in "autoindex" directive, it must be "on" or "off"'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8080", ("0.0.0.0", 8080)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::]:8080", ("::", 8080)),
        ("[::1]:443", ("::1", 443)),
        ("localhost:8080", ("127.0.0.1", 8080)),
        ("*:8080", ("0.0.0.0", 8080)),
        ("127.0.0.1", ("127.0.0.1", 80)),
        ("65535", ("0.0.0.0", 65535)),
        ("1", ("0.0.0.0", 1)),
    ],
)
def test_listen_accepts_every_documented_address_form(text, expected):
    assert parse_listen_address(arg(text)) == expected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("0", "invalid-port"),
        ("65536", "invalid-port"),
        ("-1", "invalid-port"),
        ("127.0.0.1:0", "invalid-port"),
        ("127.0.0.1:http", "invalid-port"),
        ("example.com:80", "invalid-listen"),
        ("::1:80", "invalid-listen"),
        ("[::1:80", "invalid-listen"),
        ("300.1.1.1:80", "invalid-listen"),
    ],
)
def test_listen_rejects_bad_ports_and_hosts(text, rule):
    with pytest.raises(ValueProblem) as info:
        parse_listen_address(arg(text))
    assert info.value.rule == rule


def test_status_codes_must_be_three_digits_in_range():
    assert parse_status(arg("404"), "error_page", 300, 599) == 404
    for bad in ("200", "600", "40", "4044", "abc", "+404"):
        with pytest.raises(ValueProblem) as info:
            parse_status(arg(bad), "error_page", 300, 599)
        assert info.value.rule == "invalid-status"


def test_methods_are_upper_cased_and_unknown_ones_rejected():
    assert parse_method(arg("delete"), "allow_methods") == "DELETE"
    with pytest.raises(ValueProblem):
        parse_method(arg("FETCH"), "allow_methods")


def test_pcre_named_groups_are_accepted_and_broken_regexes_rejected():
    pattern = compile_regex(arg(r"^/u/(?<user>\w+)$"), "location")
    assert pattern.match("/u/bob").group("user") == "bob"
    assert compile_regex(arg(r"(?<=a)b"), "location").search("ab")  # lookbehind untouched
    assert compile_regex(arg("abc"), "location", re.IGNORECASE).match("ABC")
    with pytest.raises(ValueProblem) as info:
        compile_regex(arg("(unclosed"), "location")
    assert info.value.rule == "invalid-regex"


@pytest.mark.parametrize("text", ["²", "٣", "1²", "٣k"])
def test_only_ascii_digits_are_numbers(text):
    with pytest.raises(ValueProblem):
        parse_size(arg(text), "client_max_body_size")
    with pytest.raises(ValueProblem):
        parse_status(arg(text), "error_page")
    with pytest.raises(ValueProblem):
        parse_listen_address(arg(text))


def test_sizes_and_times_have_an_upper_bound():
    assert parse_size(arg("1048576g"), "client_max_body_size") == 1024**5
    with pytest.raises(ValueProblem, match="too large"):
        parse_size(arg("1048577g"), "client_max_body_size")
    assert parse_time(arg("365d"), "send_timeout") == 365 * 86400
    for text in ("366d", "9" * 400, "9" * 400 + "h"):
        with pytest.raises(ValueProblem, match="too long"):
            parse_time(arg(text), "send_timeout")


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("10mb", "10m"), ("10MB", "10m"), ("512KiB", "512k"), ("1.5m", "1536k"), ("0x10", "16"),
     ("1t", "1024g"), ("100b", "100"), ("2048k", None)],
)  # fmt: skip
def test_a_size_typo_suggests_the_right_spelling(text, suggestion):
    if suggestion is None:  # valid: no problem at all
        assert parse_size(arg(text), "client_max_body_size") == 2 << 20
        return
    with pytest.raises(ValueProblem) as info:
        parse_size(arg(text), "client_max_body_size")
    assert info.value.hint.startswith(f'did you mean "{suggestion}"?')


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("1min", "1m"), ("30sec", "30s"), ("2hours", "2h"), ("100msec", "100ms"), ("1day", "1d")],
)
def test_a_time_typo_suggests_the_right_spelling(text, suggestion):
    with pytest.raises(ValueProblem) as info:
        parse_time(arg(text), "send_timeout")
    assert info.value.hint.startswith(f'did you mean "{suggestion}"?')


def test_a_garbage_size_or_time_gets_the_general_hint_only():
    with pytest.raises(ValueProblem) as info:
        parse_size(arg("lots"), "client_max_body_size")
    assert info.value.hint.startswith("a size is")
    with pytest.raises(ValueProblem) as info:
        parse_time(arg("-5s"), "send_timeout")
    assert info.value.hint.startswith("a time cannot be negative")


@pytest.mark.parametrize(
    ("text", "hint"),
    [("yes", 'did you mean "on"?'), ("ON", 'did you mean "on"?'), ("false", 'did you mean "off"?'),
     ("maybe", None)],
)  # fmt: skip
def test_a_flag_typo_suggests_on_or_off(text, hint):
    with pytest.raises(ValueProblem) as info:
        parse_flag(arg(text), "autoindex")
    assert info.value.hint == hint
