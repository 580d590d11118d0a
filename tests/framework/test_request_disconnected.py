"""``request.disconnected``: an ``asyncio.Event`` made on first use, set once the engine
reports the client gone (also when that came before anyone asked), and the half-close
opt-in a handler such as CGI uses."""

from __future__ import annotations

import asyncio

from framework.http.request import Request


def test_no_event_exists_until_a_handler_asks():
    request = Request("GET", "/", "/")
    assert request._disconnected is None
    assert not request.disconnected.is_set()
    assert request.disconnected is request.disconnected


def test_the_event_is_set_when_the_client_goes_and_wakes_a_waiter():
    async def scenario() -> bool:
        request = Request("GET", "/", "/")
        waiter = asyncio.ensure_future(request.disconnected.wait())
        await asyncio.sleep(0)
        request._client_gone()
        return await asyncio.wait_for(waiter, 5)

    assert asyncio.run(scenario()) is True


def test_a_client_gone_before_anyone_asked_reads_as_set():
    request = Request("GET", "/", "/")
    request._client_gone()
    assert request.disconnected.is_set()


def test_half_close_semantics_are_opt_in():
    request = Request("POST", "/cgi", "/cgi")
    assert not request._half_close_ok
    request.answer_after_half_close()
    assert request._half_close_ok
