"""The auth_basic handler: Authorization parsing (lenient where nginx is, 401 and never 500
on anything malformed), the challenge, remote_user, and the user file's errors."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from framework.config.models import LocationConfig
from framework.http.errors import HTTPError
from framework.http.headers import Headers
from framework.http.request import Request
from framework.http.response import Response
from handlers.auth_basic import AuthBasicHandler, basic_credentials, challenge


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"Basic {b64(b'alice:pw')}", (b"alice", b"pw")),
        (f"basic   {b64(b'alice:pw')}  ", (b"alice", b"pw")),
        (f"BASIC {b64(b'alice:pw:with:colons')}", (b"alice", b"pw:with:colons")),
        (f"Basic {b64(b'alice:')}", (b"alice", b"")),
        ("Basic YWxpY2U6cHc", (b"alice", b"pw")),  # unpadded, as nginx accepts
        ("Basic " + b64("café:".encode() + b"\xffpw"), ("café".encode(), b"\xffpw")),
    ],
)
def test_credentials_are_parsed(value, expected):
    assert basic_credentials(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic",
        "Basic ",
        "Bearer abc",
        "BasicYWxpY2U6cHc=",
        "Basic YWxp Y2U6cHc=",
        "Basic !!!!",
        "Basic YQ=",  # bad padding
        f"Basic {b64(b'no colon')}",
        f"Basic {b64(b':pw')}",  # empty user
        "Basic " + "A" * 10000,
        "Basic \u0100\u0101",  # not even latin-1
    ],
)
def test_malformed_credentials_are_none(value):
    assert basic_credentials(value) is None


def test_the_realm_is_a_quoted_string():
    assert challenge('r"q\\z') == 'Basic realm="r\\"q\\\\z"'
    assert challenge("Staff only") == 'Basic realm="Staff only"'


@pytest.fixture
def location(tmp_path: Path) -> LocationConfig:
    (tmp_path / "users").write_text("alice:{PLAIN}pw\n")
    return LocationConfig(auth_basic="Staff", auth_basic_user_file=tmp_path / "users")


def _ask(location: LocationConfig, authorization: list[str]) -> tuple[Request, Response]:
    handler = AuthBasicHandler.from_location(location)
    assert handler is not None
    headers = Headers()
    for value in authorization:
        headers.add("Authorization", value)
    request = Request("GET", "/", "/", headers=headers, client=("127.0.0.1", 1))

    async def served(request: Request) -> Response:
        return Response(200, request.remote_user)

    return request, asyncio.run(handler.handle(request, served))


def test_accepted_credentials_set_remote_user(location):
    request, response = _ask(location, [f"Basic {b64(b'alice:pw')}"])
    assert response.status == 200 and request.remote_user == "alice"


@pytest.mark.parametrize(
    "authorization",
    [[], ["Basic !!"], [f"Basic {b64(b'alice:bad')}"], [f"Basic {b64(b'bob:pw')}"]],
)
def test_missing_or_wrong_credentials_get_401_with_the_challenge(location, authorization):
    with pytest.raises(HTTPError) as denied:
        _ask(location, authorization)
    assert denied.value.status == 401
    assert denied.value.headers["WWW-Authenticate"] == 'Basic realm="Staff"'


def test_two_authorization_fields_are_400_as_in_nginx(location):
    with pytest.raises(HTTPError) as bad:
        _ask(location, [f"Basic {b64(b'alice:pw')}"] * 2)
    assert bad.value.status == 400


def test_a_missing_user_file_is_403_and_a_broken_one_500(location, tmp_path):
    location.auth_basic_user_file.unlink()
    with pytest.raises(HTTPError) as missing:
        _ask(location, [f"Basic {b64(b'alice:pw')}"])
    assert missing.value.status == 403
    location.auth_basic_user_file.mkdir()
    with pytest.raises(HTTPError) as broken:
        _ask(location, [f"Basic {b64(b'alice:pw')}"])
    assert broken.value.status == 500


def test_enabled_only_with_a_realm_and_a_user_file(tmp_path):
    assert AuthBasicHandler.from_location(LocationConfig()) is None
    assert AuthBasicHandler.from_location(LocationConfig(auth_basic="x")) is None
    off = LocationConfig(auth_basic=None, auth_basic_user_file=tmp_path / "u")
    assert AuthBasicHandler.from_location(off) is None
    on = AuthBasicHandler.from_location(
        LocationConfig(auth_basic="x", auth_basic_user_file=tmp_path / "u")
    )
    assert on is not None and on.methods == frozenset()
