"""Directives for access control: ``allow``/``deny``, ``auth_basic``, ``auth_basic_user_file``:
their rows of the directive table, their value parsers and the ``LocationConfig`` fields
they fill. This module must not import ``framework.config.models``, which mixes
``AccessFields`` in.

``allow`` and ``deny`` append to one ordered list, ``access_rules``: the first rule that
matches the client decides, and a client no rule matches is allowed. As in nginx, a level
that writes any ``allow``/``deny`` replaces the rules it would inherit as a whole.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import Field

from config_grammar.tree import Arg, Directive, Span
from framework.config.model_base import Model
from framework.config.spec import DirectiveSpec, ParseContext, first_arg, spec
from framework.config.values import ValueProblem, parse_cidr

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
RuleKind = Literal["ip", "all", "unix"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AccessRule(Model):
    """One ``allow``/``deny``: ``kind`` "ip" matches ``network`` (host bits already
    cleared, as nginx does), "all" every client, "unix" clients on a UNIX-domain socket."""

    allow: bool
    kind: RuleKind = "ip"
    network: Network | None = None
    text: str = ""  # the address as written, for diagnostics
    span: Span | None = None


class AccessFields(Model):
    """The ``LocationConfig`` fields of these directives."""

    access_rules: list[AccessRule] = Field(default_factory=list)
    auth_basic: str | None = None  # the realm; None: off
    auth_basic_user_file: Path | None = None


def parse_network(text: str) -> Network | None:
    """``ADDRESS`` or ``ADDRESS/PREFIX`` (IPv4 or IPv6) as a network, host bits cleared;
    None if it is neither (``values.parse_cidr``: nginx's rules)."""
    parsed = parse_cidr(text)
    return parsed[0] if parsed is not None else None


def has_host_bits(rule: AccessRule) -> bool:
    """True when the rule's CIDR sets bits below its prefix (nginx: "low address bits of
    ... are meaningless")."""
    parsed = parse_cidr(rule.text) if rule.kind == "ip" else None
    return parsed is not None and not parsed[1]


def parse_rule(d: Directive, _: ParseContext | None = None) -> AccessRule:
    """The ``AccessRule`` of an ``allow``/``deny`` directive (raises ``ValueProblem``)."""
    arg = first_arg(d)
    allow = d.name == "allow"
    if arg.value == "all":
        return AccessRule(allow=allow, kind="all", text="all", span=arg.span)
    if arg.value == "unix:":
        return AccessRule(allow=allow, kind="unix", text="unix:", span=arg.span)
    network = parse_network(arg.value)
    if network is None:
        raise ValueProblem(
            "invalid-value",
            f'invalid parameter "{arg.value}"',
            arg.span,
            f"write an IPv4 or IPv6 address, ADDRESS/PREFIX (e.g. 192.168.0.0/16, "
            f'2001:db8::/32), "unix:" or "all": `{d.name} 10.0.0.0/8;`',
        )
    return AccessRule(allow=allow, network=network, text=arg.value, span=arg.span)


def _realm(d: Directive, _: ParseContext) -> str | None:
    arg: Arg = first_arg(d)
    if arg.value == "off":
        return None
    if _CONTROL.search(arg.value):
        raise ValueProblem(
            "invalid-value",
            'control character in the realm of "auth_basic" directive',
            arg.span,
            "the realm is sent in the WWW-Authenticate header: use printable text",
        )
    return arg.value


def _user_file(d: Directive, ctx: ParseContext) -> Path:
    return ctx.path_arg(first_arg(d), d.name)


# fmt: off
SPECS: list[DirectiveSpec] = [
    spec("allow", "HSL", "allow ADDRESS|CIDR|unix:|all;", parse=parse_rule, scope="location",
         field="access_rules", combine="append",
         summary="allow clients (rules are tried in order; the first match wins)"),
    spec("deny", "HSL", "deny ADDRESS|CIDR|unix:|all;", parse=parse_rule, scope="location",
         field="access_rules", combine="append",
         summary="deny clients with 403 (rules are tried in order; the first match wins)"),
    spec("auth_basic", "HSL", 'auth_basic "REALM"|off;', parse=_realm, scope="location",
         field="auth_basic", default="off",
         summary="HTTP Basic authentication against auth_basic_user_file"),
    spec("auth_basic_user_file", "HSL", "auth_basic_user_file FILE;", parse=_user_file,
         scope="location", field="auth_basic_user_file",
         summary="htpasswd file (user:hash lines; bcrypt, SHA-2 crypt, apr1, {SHA}...)"),
]
# fmt: on
