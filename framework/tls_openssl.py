"""The few ``SSL_CTX`` settings nginx has and stdlib ``ssl`` does not expose: the session
timeout, the server session cache's mode and size, a list of key exchange groups and the
session ticket keys (shared by the workers of one configuration).

They are set through ctypes on the ``SSL_CTX`` behind an ``ssl.SSLContext``, in the very
libssl that CPython's ``_ssl`` module is linked against. Before writing anything, the
pointer is checked by reading a fresh context's timeout (7200 s) and session cache mode
(server) back; if libssl cannot be found or the check fails, ``available()`` is False and the
callers fall back to OpenSSL's defaults (``framework.tls`` reports that once).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import ssl
import sys
from functools import cache

# SSL_CTX_ctrl commands and session cache modes (openssl/ssl.h, stable since 1.0)
_SSL_CTRL_SET_SESS_CACHE_SIZE = 42
_SSL_CTRL_SET_SESS_CACHE_MODE = 44
_SSL_CTRL_GET_SESS_CACHE_MODE = 45
_SSL_CTRL_SET_GROUPS_LIST = 92
_SSL_CTRL_GET_TLSEXT_TICKET_KEYS = 58
_SSL_CTRL_SET_TLSEXT_TICKET_KEYS = 59
TICKET_KEYS_SIZE = 80  # key name (16), HMAC secret (32), AES key (32): OpenSSL >= 1.1.0
SESS_CACHE_OFF = 0x0000
SESS_CACHE_SERVER = 0x0002
SESS_CACHE_NO_INTERNAL_STORE = 0x0200
_FRESH_TIMEOUT = 7200  # what SSL_CTX_new gives a TLS method's context (tls1_default_timeout)


@cache
def _libssl() -> ctypes.CDLL | None:
    import _ssl

    names = []
    if sys.platform.startswith("linux"):
        # the soname _ssl is linked against: OpenSSL 3 is libssl.so.3, 1.1 is libssl.so.1.1
        major = ssl.OPENSSL_VERSION_INFO[0]
        names.append("libssl.so.3" if major >= 3 else "libssl.so.1.1")
    found = ctypes.util.find_library("ssl")
    if found:
        names.append(found)
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            lib.SSL_CTX_set_timeout.argtypes = [ctypes.c_void_p, ctypes.c_long]
            lib.SSL_CTX_set_timeout.restype = ctypes.c_long
            lib.SSL_CTX_get_timeout.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_timeout.restype = ctypes.c_long
            lib.SSL_CTX_ctrl.argtypes = [
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_long,
                ctypes.c_void_p,
            ]
            lib.SSL_CTX_ctrl.restype = ctypes.c_long
        except AttributeError:
            continue
        del _ssl
        return lib
    return None


def _ssl_ctx(ctx: ssl.SSLContext) -> int:
    # PySSLContext starts with PyObject_HEAD followed by the SSL_CTX pointer
    return ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value or 0


@cache
def available() -> bool:
    """Whether these settings can be applied in this process."""
    lib = _libssl()
    if lib is None:
        return False
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pointer = _ssl_ctx(probe)
    if not pointer:
        return False
    return bool(
        lib.SSL_CTX_get_timeout(pointer) == _FRESH_TIMEOUT
        and lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_GET_SESS_CACHE_MODE, 0, None) == SESS_CACHE_SERVER
    )


def _checked(ctx: ssl.SSLContext) -> tuple[ctypes.CDLL, int]:
    lib = _libssl()
    if lib is None or not available():
        raise OSError("libssl's SSL_CTX functions are not available to webserv")
    return lib, _ssl_ctx(ctx)


def set_session_timeout(ctx: ssl.SSLContext, seconds: float) -> None:
    """The lifetime of sessions in the cache and of the tickets the context issues."""
    lib, pointer = _checked(ctx)
    lib.SSL_CTX_set_timeout(pointer, max(1, int(seconds)))


def session_timeout(ctx: ssl.SSLContext) -> int:
    """The context's current session timeout, in seconds."""
    lib, pointer = _checked(ctx)
    return int(lib.SSL_CTX_get_timeout(pointer))


def set_session_cache(ctx: ssl.SSLContext, kind: str, size: int = 0) -> None:
    """nginx's ``ssl_session_cache``: "off" (the server refuses session reuse), "none"
    (session IDs are issued but nothing is stored) or "builtin" (a cache of ``size``
    sessions in this process)."""
    lib, pointer = _checked(ctx)
    mode = {
        "off": SESS_CACHE_OFF,
        "none": SESS_CACHE_SERVER | SESS_CACHE_NO_INTERNAL_STORE,
        "builtin": SESS_CACHE_SERVER,
    }[kind]
    lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_SET_SESS_CACHE_MODE, mode, None)
    if kind == "builtin":
        lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_SET_SESS_CACHE_SIZE, size, None)


def session_cache_mode(ctx: ssl.SSLContext) -> int:
    """The context's session cache mode bits."""
    lib, pointer = _checked(ctx)
    return int(lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_GET_SESS_CACHE_MODE, 0, None))


def set_groups(ctx: ssl.SSLContext, groups: str) -> None:
    """The key exchange groups (``X25519:prime256v1``), in preference order; ValueError if
    OpenSSL refuses the list."""
    lib, pointer = _checked(ctx)
    text = ctypes.c_char_p(groups.encode("ascii", "replace"))
    if (
        lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_SET_GROUPS_LIST, 0, ctypes.cast(text, ctypes.c_void_p))
        != 1
    ):
        raise ValueError(f"OpenSSL refuses the group list {groups!r}")


def set_ticket_keys(ctx: ssl.SSLContext, keys: bytes) -> None:
    """``SSL_CTX_set_tlsext_ticket_keys``: the name and secrets that encrypt and check the
    session tickets ``ctx`` issues (``TICKET_KEYS_SIZE`` bytes). Contexts given the same keys
    resume each other's tickets, as the workers of one nginx configuration do. OSError if
    libssl cannot be reached, ValueError if OpenSSL refuses the keys."""
    if len(keys) != TICKET_KEYS_SIZE:
        raise ValueError(f"ticket keys are {TICKET_KEYS_SIZE} bytes, not {len(keys)}")
    lib, pointer = _checked(ctx)
    buffer = ctypes.create_string_buffer(keys, len(keys))
    if (
        lib.SSL_CTX_ctrl(
            pointer,
            _SSL_CTRL_SET_TLSEXT_TICKET_KEYS,
            len(keys),
            ctypes.cast(buffer, ctypes.c_void_p),
        )
        != 1
    ):
        raise ValueError("OpenSSL refuses the session ticket keys")


def ticket_keys(ctx: ssl.SSLContext) -> bytes:
    """The context's current session ticket keys (``SSL_CTX_get_tlsext_ticket_keys``)."""
    lib, pointer = _checked(ctx)
    buffer = ctypes.create_string_buffer(TICKET_KEYS_SIZE)
    if (
        lib.SSL_CTX_ctrl(
            pointer,
            _SSL_CTRL_GET_TLSEXT_TICKET_KEYS,
            TICKET_KEYS_SIZE,
            ctypes.cast(buffer, ctypes.c_void_p),
        )
        != 1
    ):
        raise ValueError("OpenSSL does not give the session ticket keys")
    return buffer.raw


def check_groups(groups: str) -> str | None:
    """Why OpenSSL would refuse the colon-separated group list, or None."""
    names = groups.split(":")
    if any(not name for name in names):
        return "empty group name"
    if available():
        try:
            set_groups(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), groups)
        except ValueError:
            pass
        else:
            return None
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    for name in names:
        try:
            probe.set_ecdh_curve(name)
        except ValueError:
            return f'unknown group "{name}"'
    return None if not available() else "OpenSSL refuses the list"
