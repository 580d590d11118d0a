"""Pure logic of the example plugins, without a server."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from framework import Headers, Request, Response


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_session_store_expires_sessions_idle_longer_than_max_age(example):
    sessions = example("sessions")
    clock = Clock()
    store = sessions.SessionStore(max_sessions=10, clock=clock)
    session = store.create(ttl=60)
    clock.now += 59
    assert store.get(session.id, 60) is session  # a visit pushes the expiry back
    clock.now += 59
    assert store.get(session.id, 60) is session
    clock.now += 61
    assert store.get(session.id, 60) is None
    assert len(store) == 0


def test_session_store_keeps_at_most_max_sessions_dropping_the_least_recently_used(example):
    sessions = example("sessions")
    store = sessions.SessionStore(max_sessions=2, clock=Clock())
    a, b = store.create(60), store.create(60)
    store.get(a.id, 60)  # b is now the least recently used
    c = store.create(60)
    assert store.get(b.id, 60) is None
    assert store.get(a.id, 60) is a and store.get(c.id, 60) is c


def test_signed_cookie_values_round_trip_and_forgeries_are_rejected(example):
    sessions = example("sessions")
    signer = sessions.CookieSigner(b"k" * 32)
    value = signer.sign("abc")
    assert signer.unsign(value) == "abc"
    sid, _, mac = value.rpartition(".")
    assert signer.unsign(f"abd.{mac}") is None  # id changed
    assert signer.unsign(f"{sid}.{mac[:-1]}A") is None  # signature changed
    assert signer.unsign("abc") is None  # unsigned
    assert sessions.CookieSigner(b"other key 123456").unsign(value) is None


def test_cookie_value_reads_the_named_cookie_among_several_headers(example):
    sessions = example("sessions")
    headers = Headers([("Cookie", "a=1; webserv_session=xyz.mac"), ("Cookie", "b=2")])
    request = Request("GET", "/", "/", headers=headers)
    assert sessions.cookie_value(request, "webserv_session") == "xyz.mac"
    assert sessions.cookie_value(request, "b") == "2"
    assert sessions.cookie_value(request, "missing") is None


def test_sessions_settings_accept_durations_and_reject_short_secrets(example):
    settings = example("sessions").Sessions.Settings
    assert settings.model_validate({"max_age": "30m"}).max_age == 1800
    assert settings.model_validate({"max_age": "1h"}).max_age == 3600
    assert settings.model_validate({"max_age": "45"}).max_age == 45
    with pytest.raises(ValidationError):
        settings.model_validate({"secret": "short"})
    with pytest.raises(ValidationError):
        settings.model_validate({"max_age": "soon"})


def test_sessions_handler_sets_an_httponly_samesite_cookie_and_reuses_the_session(example):
    sessions = example("sessions")
    handler = sessions.Sessions(sessions.Sessions.Settings(secret="s" * 16), location=None)
    seen = []

    async def call_next(request):
        seen.append(request.state["session"])
        return Response(200, "ok")

    first = asyncio.run(handler.handle(Request("GET", "/", "/"), call_next))
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=1800" in cookie
    value = cookie.split(";")[0]
    again = Request("GET", "/", "/", headers=Headers([("Cookie", value)]))
    asyncio.run(handler.handle(again, call_next))
    assert seen[0] is seen[1] and not seen[1].new


def test_echo_json_body_is_text_when_utf8_and_base64_otherwise(example):
    encode = example("echo_json").encode_body
    assert encode("héllo".encode(), 6) == {
        "length": 6,
        "truncated": False,
        "encoding": "text",
        "data": "héllo",
    }
    assert encode(b"\xff\x00", 2)["encoding"] == "base64"
    assert encode(b"\xff\x00", 2)["data"] == "/wA="
    # truncation inside a multi-byte character keeps the text form
    cut = encode("ééé".encode()[:5], 6)
    assert (cut["encoding"], cut["data"], cut["truncated"]) == ("text", "éé", True)


def test_echo_json_max_body_accepts_sizes_with_units(example):
    settings = example("echo_json").EchoJson.Settings
    assert settings.model_validate({"max_body": "64k"}).max_body == 65536
    assert settings.model_validate({"max_body": "2m"}).max_body == 2 * 1024 * 1024
    with pytest.raises(ValidationError):
        settings.model_validate({"max_body": "lots"})


def test_status_text_format_matches_nginx_stub_status(example):
    text = example("status").stub_status_text(
        {
            "active": 2,
            "accepted": 10,
            "handled": 9,
            "requests": 31,
            "reading": 0,
            "writing": 1,
            "waiting": 1,
        }
    )
    assert text.splitlines() == [
        "Active connections: 2 ",
        "server accepts handled requests",
        " 10 9 31 ",
        "Reading: 0 Writing: 1 Waiting: 1 ",
    ]
