"""nginx directives that webserv does not implement, each with what to do instead.

A config ported from nginx names many directives webserv does not have. Reporting them as
"unknown directive" (with a did-you-mean that points at an unrelated webserv name) would be
misleading, so each one gets the rule ``unsupported-nginx-directive`` and advice:

- ``NOT_NEEDED``: tuning that webserv does by itself or that has no meaning here. A warning:
  the directive is ignored and the config works the same.
- ``IGNORED``: a feature webserv does not have but whose absence changes no request's answer
  (logging, caching of metadata). A warning that says what is lost.
- ``UNSUPPORTED``: the directive changes how requests are answered (rewrites, rate limits,
  proxying). An error: ignoring it would serve something else than the config says.

Directives webserv does implement are in the directive table, not here.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["not-needed", "ignored", "unsupported"]

_REMOVE = "remove it"
_PROXY_STREAMS = "webserv streams upstream responses with bounded buffers of its own"
_NO_PROXY_CACHE = "webserv does not cache upstream responses: every request reaches the upstream"

NOT_NEEDED: dict[str, str] = {
    # main / events
    "events": "drop the block; its worker_connections is webserv's `max_connections N;` "
    "(top level)",
    "worker_rlimit_nofile": "webserv keeps the limit it is started with: raise it with "
    "`LimitNOFILE=` in its systemd unit or `ulimit -n`",
    "worker_cpu_affinity": _REMOVE,
    "worker_priority": _REMOVE,
    "worker_rlimit_core": _REMOVE,
    "working_directory": _REMOVE,
    "worker_shutdown_timeout": "webserv's equivalent is `shutdown_timeout TIME;`",
    "timer_resolution": _REMOVE,
    "pcre_jit": _REMOVE,
    "thread_pool": _REMOVE,
    "daemon": "webserv runs in the foreground: let systemd or your supervisor manage it",
    "master_process": _REMOVE,
    "lock_file": _REMOVE,
    "ssl_engine": _REMOVE,
    "env": "webserv passes no environment to CGI scripts beyond RFC 3875's variables and PATH",
    # I/O tuning
    "sendfile": "webserv uses sendfile for plain-text files by itself",
    "sendfile_max_chunk": _REMOVE,
    "tcp_nopush": _REMOVE,
    "tcp_nodelay": "webserv always sets TCP_NODELAY",
    "aio": _REMOVE,
    "aio_write": _REMOVE,
    "directio": _REMOVE,
    "directio_alignment": _REMOVE,
    "output_buffers": _REMOVE,
    "postpone_output": _REMOVE,
    "read_ahead": _REMOVE,
    "send_lowat": _REMOVE,
    "reset_timedout_connection": "webserv closes timed-out connections at once",
    "lingering_close": _REMOVE,
    "lingering_time": _REMOVE,
    "lingering_timeout": _REMOVE,
    "client_body_buffer_size": "webserv streams request bodies with bounded buffers",
    "client_header_buffer_size": "webserv's limit for a whole request head is "
    "`client_header_max_size SIZE;`",
    "large_client_header_buffers": "webserv's limit for a whole request head is "
    "`client_header_max_size SIZE;`",
    "client_body_in_file_only": _REMOVE,
    "client_body_in_single_buffer": _REMOVE,
    "client_body_temp_path": _REMOVE,
    "keepalive_requests": _REMOVE,
    "keepalive_time": _REMOVE,
    "keepalive_disable": _REMOVE,
    # hash sizes
    "types_hash_max_size": _REMOVE,
    "types_hash_bucket_size": _REMOVE,
    "server_names_hash_max_size": _REMOVE,
    "server_names_hash_bucket_size": _REMOVE,
    "variables_hash_max_size": _REMOVE,
    "variables_hash_bucket_size": _REMOVE,
    "map_hash_max_size": _REMOVE,
    "map_hash_bucket_size": _REMOVE,
    "proxy_headers_hash_max_size": _REMOVE,
    "proxy_headers_hash_bucket_size": _REMOVE,
    # DNS, OCSP
    "resolver": "webserv resolves nothing at run time",
    "resolver_timeout": "webserv resolves nothing at run time",
    "ssl_stapling": "webserv does not staple OCSP responses",
    "ssl_stapling_verify": "webserv does not staple OCSP responses",
    "ssl_stapling_file": "webserv does not staple OCSP responses",
    "ssl_stapling_responder": "webserv does not staple OCSP responses",
    "ssl_trusted_certificate": "webserv does not staple OCSP responses or verify clients",
    "ssl_buffer_size": _REMOVE,
    "ssl_early_data": "webserv does not accept TLS 1.3 early data (0-RTT)",
    # metadata caches
    "open_file_cache": "webserv checks files on every request (nginx's default)",
    "open_file_cache_valid": "webserv checks files on every request (nginx's default)",
    "open_file_cache_min_uses": "webserv checks files on every request (nginx's default)",
    "open_file_cache_errors": "webserv checks files on every request (nginx's default)",
    "open_log_file_cache": _REMOVE,
    # headers nginx sends by default
    "msie_padding": _REMOVE,
    "msie_refresh": _REMOVE,
    "etag": "webserv always sends ETag for files",
    "if_modified_since": "webserv answers If-Modified-Since exactly (nginx's default)",
    "ignore_invalid_headers": _REMOVE,
    "underscores_in_headers": "webserv accepts header names with underscores; CGI scripts "
    "never see them (HTTP_* variables are built only from names of letters, digits and '-')",
    "chunked_transfer_encoding": _REMOVE,
    "server_name_in_redirect": "webserv builds redirects from the Host header "
    "(nginx's default, off)",
    "log_not_found": _REMOVE,
    "log_subrequest": _REMOVE,
    "http2_max_concurrent_streams": "webserv speaks HTTP/1.1",
    "http2_push": "webserv speaks HTTP/1.1",
    "http2_push_preload": "webserv speaks HTTP/1.1",
    "http2": "webserv speaks HTTP/1.1",
    "gzip_buffers": "webserv compresses with bounded buffers of its own",
    "gzip_http_version": "webserv compresses for HTTP/1.0 and 1.1 clients alike",
    "gzip_disable": _REMOVE,
    # proxy tuning: webserv streams with bounded buffers of its own
    "proxy_buffers": _PROXY_STREAMS,
    "proxy_buffer_size": _PROXY_STREAMS,
    "proxy_busy_buffers_size": _PROXY_STREAMS,
    "proxy_max_temp_file_size": _PROXY_STREAMS,
    "proxy_temp_file_write_size": _PROXY_STREAMS,
    "proxy_temp_path": _PROXY_STREAMS,
    "proxy_request_buffering": "webserv reads request bodies up to 64 KiB before passing "
    "them on and streams larger ones (nginx's `proxy_request_buffering off` for those)",
    "proxy_socket_keepalive": _REMOVE,
}

IGNORED: dict[str, str] = {
    "proxy_redirect": "webserv passes the upstream's Location and Refresh headers unchanged "
    "(nginx's `proxy_redirect off`)",
    "proxy_intercept_errors": "webserv passes the upstream's error pages through (nginx's "
    "`proxy_intercept_errors off`); error_page applies to the 502/504 webserv decides itself",
    "proxy_next_upstream_tries": "webserv tries each server of the upstream at most once",
    "proxy_next_upstream_timeout": "webserv tries each server of the upstream at most once",
    "proxy_cache": _NO_PROXY_CACHE,
    "proxy_cache_path": _NO_PROXY_CACHE,
    "proxy_cache_valid": _NO_PROXY_CACHE,
    "proxy_cache_key": _NO_PROXY_CACHE,
    "proxy_cache_bypass": _NO_PROXY_CACHE,
    "proxy_no_cache": _NO_PROXY_CACHE,
    "proxy_cache_use_stale": _NO_PROXY_CACHE,
    "proxy_cache_lock": _NO_PROXY_CACHE,
    "log_format": "webserv writes the combined and json formats only: name one of them in "
    "`access_log PATH combined|json;`",
    "rewrite_log": _REMOVE,
    "ssl_session_ticket_key": "webserv keeps OpenSSL's ticket keys, rotated with the workers",
    "add_trailer": "webserv does not send trailers",
    "autoindex_exact_size": "webserv's listing shows exact sizes",
    "autoindex_localtime": "webserv's listing shows UTC times",
}

UNSUPPORTED: dict[str, str] = {
    "if": "use a regex `location ~ ...` for the URI, or `return` with a map variable",
    "rewrite": "use `return 301 NEW;` in a location (with regex captures, `return 301 /a/$1;`), "
    "or `try_files`",
    "set": "define the variable with `map` at the top level",
    "break": "webserv has no rewrite phase to stop",
    "uninitialized_variable_warn": _REMOVE,
    "fastcgi_pass": "run the script with webserv's `cgi EXT [INTERPRETER];` (php-cgi works)",
    "uwsgi_pass": "run the WSGI app in webserv: `wsgi MODULE:ATTR;`",
    "scgi_pass": "run the app with a webserv `handler` plugin",
    "grpc_pass": "webserv speaks HTTP/1.1 only",
    "memcached_pass": "not supported",
    "limit_req": "rate limits are not implemented: put them in a front proxy",
    "limit_req_zone": "rate limits are not implemented: put them in a front proxy",
    "limit_conn": "connection limits per key are not implemented; `max_connections N;` "
    "limits a worker's connections",
    "limit_conn_zone": "connection limits per key are not implemented",
    "limit_rate": "not implemented",
    "limit_rate_after": "not implemented",
    "limit_except": "webserv's equivalent is `allow_methods METHOD ...;` in the location",
    "satisfy": "webserv requires both allow/deny and auth_basic when both are set "
    "(nginx's `satisfy all`)",
    "auth_request": "use a webserv `handler` plugin that checks the request",
    "auth_jwt": "use a webserv `handler` plugin that checks the request",
    "internal": "not supported: a location is reachable by clients",
    "valid_referers": "use a webserv `handler` plugin",
    "secure_link": "use a webserv `handler` plugin",
    "secure_link_md5": "use a webserv `handler` plugin",
    "geo": "use `allow`/`deny` or a webserv `handler` plugin",
    "geoip_country": "use a webserv `handler` plugin",
    "split_clients": "not supported",
    "mirror": "not supported",
    "ssi": "not supported",
    "sub_filter": "not supported",
    "addition_types": "not supported",
    "perl": "use a webserv `handler` plugin (Python)",
    "js_content": "use a webserv `handler` plugin (Python)",
    "dav_methods": "webserv's uploads take PUT and DELETE: `upload_store DIR;` with "
    "`allow_methods GET PUT DELETE;`",
    "mp4": "not supported",
    "flv": "not supported",
    "image_filter": "not supported",
    "xslt_stylesheet": "not supported",
    "stream": "webserv serves HTTP only",
    "mail": "webserv serves HTTP only",
    "ssl_verify_client": "client certificates are not supported",
    "ssl_client_certificate": "client certificates are not supported",
    "ssl_password_file": "decrypt the key file beforehand (`openssl pkey -in k -out k2`)",
    "proxy_hide_header": "webserv passes the upstream's headers on (hop-by-hop ones, Date "
    "and Server excepted); strip them in the upstream",
    "proxy_pass_header": "webserv sends its own Date and Server, as nginx by default",
    "proxy_ignore_headers": "not supported",
    "proxy_pass_request_body": "not supported: webserv always passes the body",
    "proxy_pass_request_headers": "not supported: webserv always passes the headers",
    "proxy_method": "not supported: webserv passes the client's method",
    "proxy_ssl_verify": "webserv proxies to http:// upstreams only",
    "proxy_ssl_server_name": "webserv proxies to http:// upstreams only",
    "proxy_ssl_certificate": "webserv proxies to http:// upstreams only",
    "proxy_ssl_trusted_certificate": "webserv proxies to http:// upstreams only",
    "fastcgi_param": "webserv passes RFC 3875's variables to `cgi` scripts",
    "fastcgi_index": "use `index` with a `cgi` rule",
    "fastcgi_split_path_info": "webserv's `cgi` sets PATH_INFO itself",
    "empty_gif": "not supported",
    "stub_status": "not supported",
    "random_index": "not supported",
    "userid": "not supported",
}


def nginx_advice(name: str) -> tuple[Kind, str] | None:
    """How to port nginx's directive ``name`` (None: nginx has no such directive here)."""
    if name in NOT_NEEDED:
        return "not-needed", NOT_NEEDED[name]
    if name in IGNORED:
        return "ignored", IGNORED[name]
    if name in UNSUPPORTED:
        return "unsupported", UNSUPPORTED[name]
    return None
