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

Directives webserv does implement are in the directive table, not here. The names cover
nginx 1.22's core and every module in its source tree, the echo module and ``max_headers`` of
Debian's nginx 1.22 build (tests/porting/nginx-1.22-directives.txt lists them), a few later or
commercial ones (``http2``, ``auth_jwt``) and common third-party ones (headers-more, brotli,
njs). The directives inside ``mail``, ``stream`` and ``events``
blocks are not listed one by one: the block itself gets the advice.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["not-needed", "ignored", "unsupported"]

_REMOVE = "remove it"
_PROXY_STREAMS = "webserv streams upstream responses with bounded buffers of its own"
_NO_PROXY_CACHE = "webserv does not cache upstream responses: every request reaches the upstream"
_HTTP11 = "webserv speaks HTTP/1.1"
_CLIENT_CERTS = "client certificates are not supported"


def _each(names: str, advice: str) -> dict[str, str]:
    """The same ``advice`` for each of the space-separated ``names``."""
    return dict.fromkeys(names.split(), advice)


def _tuning(module: str, suffixes: str, head: str) -> dict[str, str]:
    """Advice for the settings of an nginx module whose main directive ``head`` webserv does
    not support: without ``head`` they change nothing, so each is ignored, not an error."""
    advice = f"it tunes `{head}`, which webserv does not support: remove it with `{head}`"
    return {f"{module}_{suffix}": advice for suffix in suffixes.split()}


# the settings fastcgi, scgi and uwsgi share (ngx_http_upstream's conf for each of them)
_UPSTREAM_TUNING = (
    "bind buffer_size buffering buffers busy_buffers_size cache cache_background_update "
    "cache_bypass cache_key cache_lock cache_lock_age cache_lock_timeout cache_max_range_offset "
    "cache_methods cache_min_uses cache_path cache_revalidate cache_use_stale cache_valid "
    "connect_timeout force_ranges hide_header ignore_client_abort ignore_headers "
    "intercept_errors limit_rate max_temp_file_size next_upstream next_upstream_timeout "
    "next_upstream_tries no_cache pass_header pass_request_body pass_request_headers "
    "read_timeout request_buffering send_timeout socket_keepalive store store_access "
    "temp_file_write_size temp_path"
)
_UPSTREAM_SSL = (
    "ssl_certificate ssl_certificate_key ssl_ciphers ssl_conf_command ssl_crl ssl_name "
    "ssl_password_file ssl_protocols ssl_server_name ssl_session_reuse ssl_trusted_certificate "
    "ssl_verify ssl_verify_depth"
)

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
    "http2_max_concurrent_streams": _HTTP11,
    "http2_push": _HTTP11,
    "http2_push_preload": _HTTP11,
    "http2": _HTTP11,
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
    "proxy_send_lowat": _REMOVE,
    # the events block's directives, should one appear outside it
    "worker_connections": "webserv's equivalent is `max_connections N;` (top level)",
    **_each(
        "use multi_accept accept_mutex accept_mutex_delay debug_connection worker_aio_requests "
        "epoll_events kqueue_changes kqueue_events devpoll_changes devpoll_events "
        "eventport_events iocp_threads acceptex_read post_acceptex",
        "webserv runs one event loop per worker: drop it with the `events` block",
    ),
    "debug_points": _REMOVE,
    "google_perftools_profiles": _REMOVE,
    # memory pools, hashes and buffers nginx sizes by hand
    **_each(
        "connection_pool_size request_pool_size subrequest_output_buffer_size "
        "referer_hash_max_size referer_hash_bucket_size open_file_cache_events",
        _REMOVE,
    ),
    "merge_slashes": "webserv always merges `//` in the path (nginx's default, on)",
    **_each("gzip_hash gzip_window gzip_no_buffer postpone_gzipping", _REMOVE),
    **_each(
        "http2_body_preread_size http2_chunk_size http2_idle_timeout "
        "http2_max_concurrent_pushes http2_max_field_size http2_max_header_size "
        "http2_max_requests http2_pool_size http2_recv_buffer_size http2_recv_timeout "
        "http2_streams_index_size http3 quic_retry quic_gso",
        _HTTP11,
    ),
    "zone": "webserv's workers share no upstream state: drop it",
    "max_headers": "webserv's limit for a whole request head is `client_header_max_size SIZE;`",
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
    **_each(
        "proxy_cache_background_update proxy_cache_convert_head proxy_cache_lock_age "
        "proxy_cache_lock_timeout proxy_cache_max_range_offset proxy_cache_methods "
        "proxy_cache_min_uses proxy_cache_revalidate",
        _NO_PROXY_CACHE,
    ),
    "proxy_bind": "webserv connects to the upstream from the address the system picks",
    "proxy_force_ranges": "webserv makes no byte ranges of upstream answers",
    "proxy_ignore_client_abort": "not implemented",
    "proxy_limit_rate": "webserv reads the upstream as fast as the client takes the answer",
    "auth_delay": "webserv answers a failed auth_basic at once",
    **_tuning("fastcgi", _UPSTREAM_TUNING + " catch_stderr keep_conn send_lowat", "fastcgi_pass"),
    **_tuning("scgi", _UPSTREAM_TUNING + " param", "scgi_pass"),
    **_tuning(
        "uwsgi",
        _UPSTREAM_TUNING + " param modifier1 modifier2 string " + _UPSTREAM_SSL,
        "uwsgi_pass",
    ),
    **_tuning(
        "grpc",
        "bind buffer_size connect_timeout hide_header ignore_headers intercept_errors "
        "next_upstream next_upstream_timeout next_upstream_tries pass_header read_timeout "
        "send_timeout set_header socket_keepalive " + _UPSTREAM_SSL,
        "grpc_pass",
    ),
    **_tuning(
        "memcached",
        "bind buffer_size connect_timeout gzip_flag next_upstream next_upstream_timeout "
        "next_upstream_tries read_timeout send_timeout socket_keepalive",
        "memcached_pass",
    ),
    **_tuning(
        "ssi",
        "types silent_errors value_length last_modified min_file_chunk ignore_recycled_buffers",
        "ssi",
    ),
    **_tuning("sub_filter", "types once last_modified", "sub_filter"),
    **_tuning("userid", "domain expires flags mark name p3p path service", "userid"),
    **_tuning("xslt", "types param string_param last_modified", "xslt_stylesheet"),
    "xml_entities": "it tunes `xslt_stylesheet`, which webserv does not support: remove it "
    "with `xslt_stylesheet`",
    **_tuning(
        "image_filter",
        "buffer interlace jpeg_quality sharpen transparency webp_quality",
        "image_filter",
    ),
    **_tuning("mp4", "buffer_size max_buffer_size start_key_frame", "mp4"),
    **_tuning("limit_req", "dry_run log_level status", "limit_req"),
    **_tuning("limit_conn", "dry_run log_level status", "limit_conn"),
    **_tuning("mirror", "request_body", "mirror"),
    **_tuning("perl", "modules require", "perl"),
    **_tuning("gunzip", "buffers", "gunzip"),
    "js_import": "it loads scripts for `js_content`, which webserv does not support: "
    "remove it with `js_content`",
    "js_path": "it loads scripts for `js_content`, which webserv does not support: "
    "remove it with `js_content`",
    **_each(
        "brotli_types brotli_comp_level brotli_min_length brotli_buffers brotli_window",
        "it tunes `brotli`, which webserv does not support: remove it with `brotli`",
    ),
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
    "ssl": "write `listen PORT ssl;` (nginx removed `ssl on;` in 1.25)",
    "ssl_conf_command": "not supported: webserv sets OpenSSL's options from its ssl_* "
    "directives only",
    **_each("ssl_crl ssl_verify_depth ssl_ocsp ssl_ocsp_cache ssl_ocsp_responder", _CLIENT_CERTS),
    "ssl_reject_handshake": "not supported: every TLS server needs a certificate",
    **_each(
        "proxy_ssl proxy_ssl_certificate_key proxy_ssl_ciphers proxy_ssl_conf_command "
        "proxy_ssl_crl proxy_ssl_name proxy_ssl_password_file proxy_ssl_protocols "
        "proxy_ssl_session_reuse proxy_ssl_verify_depth",
        "webserv proxies to http:// upstreams only",
    ),
    "proxy_cookie_domain": "webserv passes the upstream's Set-Cookie headers unchanged",
    "proxy_cookie_path": "webserv passes the upstream's Set-Cookie headers unchanged",
    "proxy_cookie_flags": "webserv passes the upstream's Set-Cookie headers unchanged",
    "proxy_set_body": "not supported: webserv passes the client's body",
    "proxy_store": "not supported: webserv stores nothing it proxies",
    "proxy_store_access": "not supported: webserv stores nothing it proxies",
    "ip_hash": "webserv balances round-robin, or with `least_conn;`",
    "hash": "webserv balances round-robin, or with `least_conn;`",
    "random": "webserv balances round-robin, or with `least_conn;`",
    "sticky": "webserv balances round-robin, or with `least_conn;`",
    "post_action": "not supported",
    "recursive_error_pages": "not supported",
    "disable_symlinks": "not supported: webserv follows symlinks inside the root and never "
    "one that leaves it",
    "max_ranges": "not supported: webserv answers single-range requests with 206",
    "auth_request_set": "use a webserv `handler` plugin that checks the request",
    "secure_link_secret": "use a webserv `handler` plugin",
    **_each(
        "geoip_city geoip_org geoip_proxy geoip_proxy_recursive", "use a webserv `handler` plugin"
    ),
    "perl_set": "define the variable with `map`, or use a webserv `handler` plugin (Python)",
    "js_set": "define the variable with `map`, or use a webserv `handler` plugin (Python)",
    "add_before_body": "not supported",
    "add_after_body": "not supported",
    "charset_map": "webserv does not convert between charsets: `charset` only labels "
    "the Content-Type",
    "source_charset": "webserv does not convert between charsets: `charset` only labels "
    "the Content-Type",
    "override_charset": "webserv does not convert between charsets: `charset` only labels "
    "the Content-Type",
    **_each(
        "ancient_browser ancient_browser_value modern_browser modern_browser_value",
        "not supported",
    ),
    **_each(
        "create_full_put_path dav_access min_delete_depth",
        "webserv's uploads take PUT and DELETE: `upload_store DIR;` with "
        "`allow_methods GET PUT DELETE;`",
    ),
    "degradation": "not supported",
    "degrade": "not supported",
    "gunzip": "not supported: keep the uncompressed file beside the .gz one and use "
    "`gzip_static on;`",
    "slice": "not supported",
    "more_set_headers": "webserv's equivalent is `add_header NAME VALUE always;`",
    "more_clear_headers": "not supported: webserv sends the headers it sets",
    "more_set_input_headers": "not supported",
    "more_clear_input_headers": "not supported",
    "echo": "webserv's equivalent is `return 200 TEXT;`",
    **_each(
        "echo_abort_parent echo_after_body echo_before_body echo_blocking_sleep echo_duplicate "
        "echo_end echo_exec echo_flush echo_foreach_split echo_location echo_location_async "
        "echo_read_request_body echo_request_body echo_reset_timer echo_sleep echo_status "
        "echo_subrequest echo_subrequest_async",
        "not supported: `return CODE TEXT;` answers with a fixed body",
    ),
    "brotli": "not supported: precompress the files and serve them with `brotli_static on;`",
}


VERB: dict[Kind, str] = {
    "not-needed": "does not need",
    "ignored": "ignores",
    "unsupported": "does not support",
}
"""How a message says each kind: '"sendfile" is an nginx directive that webserv VERB'."""


def nginx_advice(name: str) -> tuple[Kind, str] | None:
    """How to port nginx's directive ``name`` (None: nginx has no such directive here)."""
    if name in NOT_NEEDED:
        return "not-needed", NOT_NEEDED[name]
    if name in IGNORED:
        return "ignored", IGNORED[name]
    if name in UNSUPPORTED:
        return "unsupported", UNSUPPORTED[name]
    return None
