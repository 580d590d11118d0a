"""TLS on the raw-fd core: stdlib ``ssl.SSLObject`` over two ``MemoryBIO``s, no threads.

The connection reads ciphertext from its socket into ``TlsSession.incoming``, steps the
handshake and decrypts with ``TlsSession.read_into``; ``TlsWriteQueue`` encrypts what is
written and hands the records to the ordinary ``WriteQueue`` write path, so backpressure,
``send_timeout`` and closing behave as on a plain connection. ``sendfile`` does not apply
under TLS: a file is read and encrypted in bounded chunks with ``drain()`` between them.

Sans-I/O helpers look at the first bytes of a connection: ``starts_tls`` (a handshake record,
not plain HTTP sent to a TLS port), ``first_record_size`` and ``client_hello_alpn`` (the
protocols a ClientHello offers, so a client offering only ``h2`` is refused with the
``no_application_protocol`` alert, as nginx 1.22 without http2 does).
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import struct
from collections import deque
from collections.abc import Callable

from framework.core.writequeue import HIGH_WATER, LOW_WATER, WriteQueue

FILE_CHUNK = 64 * 1024  # plaintext read and encrypted at a time for a file body
HANDSHAKE = 0x16  # TLS record content type of a ClientHello
MAX_RECORD = 16384 + 2048  # largest TLSCiphertext fragment (RFC 8446 5.2)
# what nginx 1.22 without http2 accepts in ALPN (NGX_HTTP_ALPN_PROTOS)
HTTP1_ALPN = frozenset({b"http/1.1", b"http/1.0", b"http/0.9"})

NO_APPLICATION_PROTOCOL = 120  # the TLS alert (RFC 7301); the ssl module has no name for it
_REFUSE_ATTR = "_webserv_refuse_alpn"
_WRAPPED_ATTR = "_webserv_prepared"


def prepare_context(context: ssl.SSLContext) -> ssl.SSLContext:
    """Make ``context`` fit for ``TlsSession`` (once per context): no TLS 1.2
    renegotiation, and a server-name hook that refuses a ClientHello whose ALPN offers no
    HTTP/1.x (its own ``sni_callback``, if any, still runs otherwise)."""
    if getattr(context, _WRAPPED_ATTR, False):
        return context
    context.options |= ssl.OP_NO_RENEGOTIATION
    chosen = context.sni_callback

    def on_server_name(sslobj: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> int | None:
        if getattr(sslobj, _REFUSE_ATTR, False):
            return NO_APPLICATION_PROTOCOL
        if chosen is not None:
            return chosen(sslobj, name, ctx)  # type: ignore[arg-type]
        return None

    context.sni_callback = on_server_name  # type: ignore[assignment]
    setattr(context, _WRAPPED_ATTR, True)
    return context


class TlsError(Exception):
    """The peer broke the TLS protocol (failed handshake, bad record)."""


class TlsSession:
    """One server-side TLS session over memory BIOs (see the module docstring)."""

    __slots__ = ("obj", "incoming", "outgoing", "established", "_blocked")

    def __init__(self, context: ssl.SSLContext, *, refuse_alpn: bool = False) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        if refuse_alpn:
            setattr(self.obj, _REFUSE_ATTR, True)
        self.established = False
        self._blocked: list[bytes] = []  # plaintext a write could not take (renegotiation)

    def handshake(self) -> bool:
        """Step the handshake with the bytes in ``incoming``; True once it is complete.
        Raises ``TlsError`` when it fails (the alert for the peer is in ``outgoing``)."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        except ssl.SSLWantWriteError:  # memory BIOs never block on write: retry on input
            return False
        except (ssl.SSLError, ValueError) as exc:
            if getattr(self.obj, _REFUSE_ATTR, False):
                raise TlsError("no application protocol (ALPN offers no HTTP/1.x)") from None
            raise TlsError(_describe(exc)) from None
        self.established = True
        return True

    def read_into(self, buffer: bytearray) -> int:
        """Decrypt into ``buffer``: the byte count, -1 when more input is needed, 0 once
        the peer sent close_notify. Raises ``TlsError`` for a bad record."""
        try:
            return self.obj.read(len(buffer), buffer)  # type: ignore[return-value]
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return -1
        except ssl.SSLZeroReturnError:
            return 0
        except ssl.SSLError as exc:
            raise TlsError(_describe(exc)) from None

    def more_input(self) -> bool:
        """Whether ``read_into`` may have more to give (unread records or plaintext): asking
        otherwise costs an ``SSLWantReadError``."""
        return bool(self.incoming.pending or self.obj.pending())

    def encrypt(self, data: bytes | bytearray | memoryview) -> bytes:
        """The records carrying ``data`` (b"" if the session must read first: the data is
        kept and sent by ``retry_blocked``). Raises ``TlsError``."""
        if self._blocked:
            self._blocked.append(bytes(data))
            return b""
        try:
            n = self.obj.write(data)  # SSL_write takes it all unless it must read first
            if n < len(data):
                self._write_all(memoryview(data)[n:])
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            self._blocked.append(bytes(data))
        except ssl.SSLError as exc:
            raise TlsError(_describe(exc)) from None
        return self.outgoing.read()

    def output(self) -> bytes:
        """Records the session produced on its own (a KeyUpdate answer, held-back data)."""
        if self._blocked:
            return self.retry_blocked()
        if self.outgoing.pending:
            return self.outgoing.read()
        return b""

    def _write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            try:
                n = self.obj.write(view)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise ssl.SSLWantReadError() from None
            except ssl.SSLError as exc:
                raise TlsError(_describe(exc)) from None
            view = view[n:]

    def retry_blocked(self) -> bytes:
        """After input was read: the records of plaintext a write had to hold back."""
        if not self._blocked:
            return b""
        blocked, self._blocked = self._blocked, []
        for i, data in enumerate(blocked):
            try:
                self._write_all(data)
            except ssl.SSLWantReadError:
                self._blocked = blocked[i:]
                break
        return self.outgoing.read()

    def close_notify(self) -> bytes:
        """The close_notify alert (the peer's is not waited for)."""
        try:
            self.obj.unwrap()
        except (ssl.SSLError, ValueError):
            pass  # SSLWantReadError: the peer's close_notify is not there, as expected
        return self.outgoing.read()


class TlsWriteQueue(WriteQueue):
    """A ``WriteQueue`` that encrypts through ``tls`` once it is set (plain until then: the
    handshake's own records and a plain-HTTP error answer go out as they are).

    Plaintext larger than ``FILE_CHUNK`` is kept as it is and encrypted ``FILE_CHUNK`` at a
    time while the records queued stay below the high-water mark, so a large in-memory body
    never costs a second, encrypted copy of itself nor one long stall of the loop. The
    plaintext still waiting counts in ``buffered`` (``drain``, ``flush``, ``full``), and
    close_notify and the close itself wait for it."""

    __slots__ = ("tls", "_plain", "_plain_left", "_notify_when_done", "_close_when_done")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: socket.socket,
        *,
        high_water: int = HIGH_WATER,
        low_water: int = LOW_WATER,
        timeout: float = 0.0,
        on_lost: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(
            loop,
            target,
            high_water=high_water,
            low_water=low_water,
            timeout=timeout,
            on_lost=on_lost,
        )
        self.tls: TlsSession | None = None
        self._plain: deque[memoryview] = deque()
        self._plain_left = 0  # bytes in _plain (also counted in _buffered)
        self._notify_when_done = False
        self._close_when_done = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt ``data`` and send the records now as far as the socket takes them."""
        tls = self.tls
        if tls is None or not tls.established:
            WriteQueue.write(self, data)
            return
        if self._closed or self._closing or self._close_when_done or not data:
            return
        if len(data) <= FILE_CHUNK and not self._plain:
            self._encrypt_now(data)  # consumed now: no copy needed
            return
        if not isinstance(data, bytes):
            data = bytes(data)  # the caller may reuse its buffer
        self._plain.append(memoryview(data))
        self._plain_left += len(data)
        self._buffered += len(data)
        self._refill()

    def _encrypt_now(self, data: bytes | bytearray | memoryview) -> None:
        assert self.tls is not None
        try:
            records = self.tls.encrypt(data)
        except TlsError as exc:
            self._fail(exc)
            return
        self._write_records(records)

    def _write_records(self, records: bytes) -> None:
        # the base queue counts only what it holds (it resets the count when it was empty)
        waiting = self._plain_left
        self._buffered -= waiting
        WriteQueue.write(self, records)
        if not self._closed:
            self._buffered += waiting

    def _refill(self) -> None:
        """Encrypt waiting plaintext while fewer records than the high-water mark are
        queued; then the close_notify and close that waited for it."""
        plain = self._plain
        while plain and not self._closed and self._buffered - self._plain_left <= self._high:
            view = plain[0]
            piece = view[:FILE_CHUNK]
            if len(view) > FILE_CHUNK:
                plain[0] = view[FILE_CHUNK:]
            else:
                plain.popleft()
            self._plain_left -= len(piece)
            self._buffered -= len(piece)
            self._encrypt_now(piece)
        if plain or self._closed:
            return
        if self._notify_when_done:
            self._notify_when_done = False
            self.notify_close()
        if self._close_when_done:
            self._close_when_done = False
            self.close()

    def _on_writable(self) -> None:
        WriteQueue._on_writable(self)
        if self._plain:
            self._refill()

    def write_raw(self, data: bytes) -> None:
        """Send ``data`` as it is (records the session produced itself)."""
        self._write_records(data)

    async def sendfile(self, file_fd: int, offset: int, count: int) -> int:
        """Read, encrypt and queue ``count`` bytes of ``file_fd`` from ``offset`` in
        ``FILE_CHUNK`` pieces, waiting for ``drain()`` so memory stays bounded. Returns the
        bytes sent (fewer only if the file is shorter). Raises ``ConnectionError``."""
        if self.tls is None:
            return await WriteQueue.sendfile(self, file_fd, offset, count)
        sent = 0
        while sent < count:
            if self._closed:
                raise ConnectionError("write queue closed")
            data = os.pread(file_fd, min(FILE_CHUNK, count - sent), offset + sent)
            if not data:
                break  # the file is shorter than announced
            self.write(data)
            sent += len(data)
            if self.full:
                await self.drain()
        if self._error is not None:
            raise ConnectionError(str(self._error) or type(self._error).__name__)
        return sent

    def notify_close(self) -> None:
        """Queue close_notify: cheap, and tells the peer the data ended on purpose (after
        any plaintext still waiting to be encrypted)."""
        if self._plain:
            self._notify_when_done = True
            return
        tls = self.tls
        if tls is not None and tls.established and not (self._closed or self._closing):
            try:
                records = tls.close_notify()
            except TlsError:
                return
            WriteQueue.write(self, records)

    def close(self) -> None:
        """Send close_notify, then close once the queue is flushed."""
        if self._plain and not self._closed:
            self._close_when_done = True
            return
        self.notify_close()
        WriteQueue.close(self)

    def abort(self) -> None:
        """Drop whatever is queued, plaintext included, and close the fd now."""
        self._drop_plain()
        WriteQueue.abort(self)

    def _fail(self, exc: BaseException) -> None:
        closing = self._close_when_done
        self._drop_plain()
        WriteQueue._fail(self, exc)
        if closing:  # close() was called and deferred: release the fd as it would have
            WriteQueue.close(self)

    def _drop_plain(self) -> None:
        self._plain.clear()
        self._buffered = max(0, self._buffered - self._plain_left)
        self._plain_left = 0
        self._notify_when_done = self._close_when_done = False


# -- the first bytes of a connection (sans I/O) ------------------------------------------------
def starts_tls(first: int) -> bool:
    """Whether a connection whose first byte is ``first`` starts a TLS handshake (else it
    is plain HTTP sent to a TLS port). SSLv2-style hellos (high bit set) count, as in
    nginx, and OpenSSL refuses them."""
    return first == HANDSHAKE or first & 0x80 != 0


def first_record_size(data: bytes) -> int:
    """The size of the TLS record at the start of ``data`` (header included), or 0 while
    its 5-byte header is incomplete."""
    if len(data) < 5:
        return 0
    return 5 + struct.unpack_from("!H", data, 3)[0]


def client_hello_alpn(record: bytes) -> list[bytes] | None:
    """The ALPN protocol names a ClientHello record offers, ``None`` when it offers none or
    cannot be read from this one record (OpenSSL then decides alone)."""
    try:
        return _client_hello_alpn(record)
    except (IndexError, struct.error):
        return None


def _client_hello_alpn(record: bytes) -> list[bytes] | None:
    if record[0] != HANDSHAKE or record[5] != 1:  # not a ClientHello
        return None
    end = min(len(record), 9 + int.from_bytes(record[6:9], "big"))
    pos = 9 + 2 + 32  # legacy_version, random
    pos += 1 + record[pos]  # session id
    pos += 2 + int.from_bytes(record[pos : pos + 2], "big")  # cipher suites
    pos += 1 + record[pos]  # compression methods
    ext_end = min(end, pos + 2 + int.from_bytes(record[pos : pos + 2], "big"))
    pos += 2
    while pos + 4 <= ext_end:
        kind, size = struct.unpack_from("!HH", record, pos)
        pos += 4
        if kind == 16:  # application_layer_protocol_negotiation
            names = []
            at, stop = pos + 2, min(pos + size, ext_end)
            while at < stop:
                n = record[at]
                names.append(record[at + 1 : at + 1 + n])
                at += 1 + n
            return names
        pos += size
    return None


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else str(exc)
