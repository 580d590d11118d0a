"""Lints of the ``user`` directive: an account that does not exist on this machine (an
error: the workers could not start), and CGI scripts configured to run as root."""

from __future__ import annotations

import grp
import pwd
from collections.abc import Iterator

from config_grammar.diagnostics import Diagnostic
from framework.config.lint_context import LintContext, LintRule, warn
from framework.config.models import Config

UNKNOWN_USER = "unknown-user"
CGI_AS_ROOT = "cgi-as-root"


def check_unknown_user(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``user NAME [GROUP]`` naming an account or group this machine does not have."""
    run_as = ctx.config.user
    if run_as is None:
        return
    for d in ctx.top_level("user")[-1:]:
        try:
            pwd.getpwnam(run_as.name)
        except KeyError:
            yield warn(
                UNKNOWN_USER,
                f'unknown user "{run_as.name}" in "user" directive',
                d,
                d.args[0].span,
                "create the account (useradd --system NAME), or name an existing one",
                severity="error",
            )
        if run_as.group is None or len(d.args) < 2:
            continue
        try:
            grp.getgrnam(run_as.group)
        except KeyError:
            yield warn(
                UNKNOWN_USER,
                f'unknown group "{run_as.group}" in "user" directive',
                d,
                d.args[1].span,
                "create the group (groupadd --system NAME), or leave it out to use the "
                "user's primary group",
                severity="error",
            )


def check_cgi_as_root(model: Config, ctx: LintContext) -> Iterator[Diagnostic]:
    """``user root`` (or any uid 0 account) with CGI enabled: every script runs as root.
    (Started as root with no ``user`` at all, ``webserv run`` warns at start instead: the
    config alone cannot tell who will start it.)"""
    run_as = ctx.config.user
    if run_as is None:
        return
    try:
        uid = pwd.getpwnam(run_as.name).pw_uid
    except KeyError:
        return  # unknown-user
    if uid != 0:
        return
    for _server, loc in ctx.scopes():
        if not loc.cgi:
            continue
        for d in ctx.top_level("user")[-1:]:
            yield warn(
                CGI_AS_ROOT,
                f'CGI scripts would run as root (user "{run_as.name}")',
                d,
                d.args[0].span,
                "run the workers as an unprivileged account: user www-data;",
            )
        return


RULES = [
    LintRule(
        UNKNOWN_USER,
        "the user or group of the user directive does not exist (error)",
        check_unknown_user,
        True,
        severity="error",
    ),
    LintRule(CGI_AS_ROOT, "CGI enabled with user root", check_cgi_as_root, True),
]
