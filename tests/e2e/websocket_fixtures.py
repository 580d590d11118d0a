"""The server the WebSocket end-to-end tests share: the ``ws_test_app`` plugin's echo and
chat behind plain and TLS listeners, with a protected location (deny, auth_basic) and small
limits for the limit tests."""

from __future__ import annotations

from pathlib import Path

from tls_certs import make_cert

from framework.testing import ServerProcess, free_port

HERE = Path(__file__).parent

CONFIG = """
load_module ws_test_app;
error_log stderr info;
access_log access.log;
server {
    listen 127.0.0.1:{port};
    listen 127.0.0.1:%(tls)d ssl;
    ssl_certificate site.pem;
    ssl_certificate_key site.key;
    root www;
    websocket_max_message_size 64k;
    location /ws { handler ws_echo; }
    location /ws-big { handler ws_echo; websocket_max_message_size 4m; }
    location /ws-idle { handler ws_echo; websocket_idle_timeout 1s; websocket_ping_interval 0; }
    location /ws-ping { handler ws_echo; websocket_idle_timeout 2s; websocket_ping_interval 500ms; }
    location /ws-denied { deny all; handler ws_echo; }
    location /ws-auth { auth_basic "chat"; auth_basic_user_file htpasswd; handler ws_echo; }
    location /chat { handler ws_chat; websocket_max_message_size 1m; }
    location / { }
}
"""


def start_ws_server(base: Path, loop: str = "asyncio") -> ServerProcess:
    """Start the shared WebSocket server in ``base``; ``srv.tls_port`` is its TLS port."""
    make_cert(base, ["localhost"], stem="site")
    (base / "www").mkdir(exist_ok=True)
    (base / "www" / "index.html").write_text("home\n")
    (base / "htpasswd").write_text("alice:{PLAIN}secret\n")
    tls_port = free_port()
    srv = ServerProcess(
        CONFIG % {"tls": tls_port},
        cwd=base,
        pythonpath=[HERE],
        env={"WEBSERV_EVENT_LOOP": loop},
    ).start()
    srv.tls_port = tls_port  # type: ignore[attr-defined]
    return srv
