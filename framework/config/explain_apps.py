"""``--explain``: the app (``asgi``/``wsgi``) or the upstream (``proxy_pass``) that answers a
location's requests, shown instead of the file a static location maps the URL to."""

from __future__ import annotations

from framework.config.models import LocationConfig


def content_lines(location: LocationConfig) -> list[str]:
    """The ``app``/``proxy`` lines for ``location`` (empty: neither answers there)."""
    lines: list[str] = []
    for kind in ("asgi", "wsgi"):
        target = getattr(location, kind)
        if target is None:
            continue
        if target.declared_in(location.span):
            lines.append(f"app       {kind} {target.text} ({_app_settings(location, kind)})")
        else:
            lines.append(
                f"app       none: {kind} {target.text} is written in an enclosing location "
                "and not inherited (nginx's rule for content handlers)"
            )
    proxy = location.proxy_pass
    if proxy is not None:
        if proxy.declared_in(location.span):
            lines.append(f"proxy     {_describe_proxy(location)}")
        else:
            lines.append(
                f"proxy     none: proxy_pass {proxy.url} is written in an enclosing location "
                "and not inherited (as in nginx)"
            )
    return lines


def answered_by_app(location: LocationConfig) -> bool:
    """Whether an app or an upstream (not a file) answers ``location``'s requests."""
    written = [location.asgi, location.wsgi, location.proxy_pass]
    return any(w is not None and w.declared_in(location.span) for w in written)


def _app_settings(location: LocationConfig, kind: str) -> str:
    settings = [f"root_path {location.asgi_root_path or '(none)'}"]
    if kind == "asgi":
        settings.append(f"lifespan {location.asgi_lifespan}")
    else:
        from handlers.wsgi_bridge import DEFAULT_THREADS

        settings.append(f"{DEFAULT_THREADS} threads per worker")
    if location.asgi_app_dir is not None:
        settings.append(f"app_dir {location.asgi_app_dir}")
    return ", ".join(settings)


def _describe_proxy(location: LocationConfig) -> str:
    from handlers.proxy import describe_proxy

    assert location.proxy_pass is not None
    return describe_proxy(location) or f"proxy_pass {location.proxy_pass.url}"
