"""Native plugin handlers for the tunnel and WebSocket end-to-end tests (``load_module
ws_test_app``): a raw upgrade echo on the engine's ``Tunnel``, and WebSocket echo and chat
sessions on ``request.accept_websocket``."""

from __future__ import annotations

import asyncio
import os

from framework import Handler, Response
from framework.http.errors import HTTPError
from framework.http.tunnel import Tunnel, Upgrade
from framework.websocket import WebSocket, offered_subprotocols


class TunnelEcho(Handler):
    """``Upgrade: echo``: echoes the tunnel's bytes; ``quit`` ends it, ``stop?`` waits for a
    graceful stop and says so."""

    name = "tunnel_echo"

    async def handle(self, request, call_next):
        if request.headers.get("upgrade", "").lower() != "echo":
            if request.query == "wrong101":  # a 101 for a request that did not ask
                return Response(101, body=Upgrade(_echo), headers={"Upgrade": "echo"})
            return Response(200, b"plain\n")
        if request.query == "refuse":
            raise HTTPError(403, "no")
        headers = {"Upgrade": "echo", "Connection": "Upgrade"}
        return Response(101, body=Upgrade(_echo), headers=headers)


RELEASE = asyncio.Event()


async def _echo(tunnel: Tunnel) -> None:
    while True:
        data = await tunnel.read()
        if not data:
            tunnel.write(b"bye\n")
            return
        if data.startswith(b"quit"):
            return
        if data.startswith(b"boom"):
            raise RuntimeError("boom")
        if data.startswith(b"stop?"):
            tunnel.on_abort = lambda: tunnel.write(b"aborted\n")
            await tunnel.stopping.wait()
            tunnel.write(b"stopping\n")
            await tunnel.drain()
            continue
        if data.startswith(b"count-slow\n"):  # count what follows up to the FIN, late
            await asyncio.sleep(1)
            total = len(data) - len(b"count-slow\n")
            while chunk := await tunnel.read():
                total += len(chunk)
            tunnel.write(b"%d\n" % total)
            return
        if data.startswith(b"pid"):
            tunnel.write(b"%d\n" % os.getpid())
            continue
        if data.startswith(b"hold\n"):  # stop reading until another tunnel says release
            RELEASE.clear()
            await RELEASE.wait()
            tunnel.write(data[len(b"hold\n") :])  # what came with it is echoed too
            continue
        if data.startswith(b"release\n"):
            RELEASE.set()
            tunnel.write(b"released\n")
            continue
        if data.startswith(b"sleep"):
            await asyncio.sleep(float(data.split(b"\n")[0].split()[1]))
            continue
        tunnel.write(data)
        await tunnel.drain()


CLOSERS: set[asyncio.Task[None]] = set()


class WsEcho(Handler):
    """A WebSocket echo: ``close-me`` closes with 4000, ``boom`` fails (1011), ``info``
    answers with the subprotocol and the authenticated user."""

    name = "ws_echo"

    async def handle(self, request, call_next):
        offered = offered_subprotocols(request)
        subprotocol = "echo.v1" if "echo.v1" in offered else None

        async def session(ws: WebSocket) -> None:
            async for message in ws:
                if message == "close-me":
                    await ws.close(4000, "asked")
                    return
                if message == "boom":
                    raise RuntimeError("boom")
                if message == "close-later":  # close from another task while receive() waits
                    closer = asyncio.get_running_loop().create_task(ws.close(4001, "later"))
                    CLOSERS.add(closer)
                    closer.add_done_callback(CLOSERS.discard)
                    continue
                if message == "flood":  # sends until the session closes
                    while True:
                        await ws.send(b"x" * 65536)
                if message == "info":
                    await ws.send(f"{ws.subprotocol}|{ws.request.remote_user}")
                    continue
                await ws.send(message)

        return request.accept_websocket(session, subprotocol=subprotocol, headers={"X-Ws": "1"})


CLIENTS: set[WebSocket] = set()


class WsChat(Handler):
    """A chat room: every message goes to every member with ``send_nowait`` (a member too
    far behind is dropped); ``count`` answers the number of members."""

    name = "ws_chat"

    async def handle(self, request, call_next):
        async def session(ws: WebSocket) -> None:
            CLIENTS.add(ws)
            try:
                async for message in ws:
                    if message == "count":
                        await ws.send(str(len(CLIENTS)))
                        continue
                    for member in list(CLIENTS):
                        if not member.send_nowait(message):
                            CLIENTS.discard(member)
            finally:
                CLIENTS.discard(ws)

        return request.accept_websocket(session)
