"""Go-to-definition targets: the files an ``include`` names (globs expanded) and the file an
``error_page`` URI is served from (through the built config's location for that URI)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from config_grammar.tree import Span
from framework.config.models import Config


def include_targets(pattern: str, base_dir: Path) -> list[Path]:
    """The files ``include pattern;`` reads, in the order the parser reads them."""
    path = os.path.join(base_dir, pattern)
    if glob.has_magic(pattern):
        return [Path(p) for p in sorted(glob.glob(path)) if os.path.isfile(p)]
    return [Path(path)] if os.path.isfile(path) else []


def error_page_targets(config: Config, uri: str, filename: str, line: int) -> list[Path]:
    """The existing files the ``error_page`` URI written on 1-based ``line`` maps to: in the
    server around that line, or in every server for a top-level ``error_page``."""
    from framework.http.errors import HTTPError
    from framework.routing.locations import LocationMatcher
    from framework.routing.paths import map_path

    if not uri.startswith("/") or "$" in uri:
        return []
    path = uri.split("?", 1)[0]
    servers = [s for s in config.servers if _contains(s.span, filename, line)]
    found: list[Path] = []
    for server in servers or config.servers:
        location = LocationMatcher(server).match(path)
        try:
            target = map_path(location, path)
        except HTTPError:
            continue
        if target.is_file() and target not in found:
            found.append(target)
    return found


def _contains(span: Span | None, filename: str, line: int) -> bool:
    return span is not None and span.file == filename and span.line <= line <= span.end_line
