"""A chat room: every text a client sends over the WebSocket at /ws is broadcast to every
connected client. Each client has its own bounded outbox and sender task, so a slow client
never holds the room up: one that falls too far behind is disconnected (close code 1008)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

OUTBOX = 100  # messages a client may lag behind before it is dropped


@dataclass(eq=False)
class Client:
    ws: WebSocket
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(OUTBOX))
    sender: asyncio.Task[None] | None = None

    async def deliver(self) -> None:
        while True:
            await self.ws.send_text(await self.outbox.get())


class Room:
    """The connected clients of this worker."""

    def __init__(self) -> None:
        self.clients: set[Client] = set()
        self.closing: set[asyncio.Task[None]] = set()  # referenced until done

    def join(self, client: Client) -> None:
        client.sender = asyncio.create_task(client.deliver())
        self.clients.add(client)

    def leave(self, client: Client) -> None:
        self.clients.discard(client)
        if client.sender is not None:
            client.sender.cancel()

    def broadcast(self, text: str) -> None:
        for client in list(self.clients):
            if client.outbox.full():  # too slow: drop it rather than hold the room up
                self.leave(client)
                task = asyncio.create_task(self._close(client.ws))
                self.closing.add(task)
                task.add_done_callback(self.closing.discard)
            else:
                client.outbox.put_nowait(text)

    @staticmethod
    async def _close(ws: WebSocket) -> None:
        with contextlib.suppress(Exception):
            await ws.close(code=1008, reason="too slow")


room = Room()


async def chat(ws: WebSocket) -> None:
    await ws.accept()
    name = ws.query_params.get("name", "anonymous")[:32]
    client = Client(ws)
    room.join(client)
    room.broadcast(f"* {name} joined")
    try:
        while True:
            room.broadcast(f"{name}: {await ws.receive_text()}")
    except WebSocketDisconnect:
        pass
    finally:
        room.leave(client)
        room.broadcast(f"* {name} left")


app = Starlette(routes=[WebSocketRoute("/ws", chat)])
