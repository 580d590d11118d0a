"""Directives for operating it: ``user``: their rows of the directive table, their value
parsers and the ``Config`` fields they fill. This module must not import
``framework.config.models``, which mixes ``OpsFields`` in."""

from __future__ import annotations

from config_grammar.tree import Directive, Span
from framework.config.model_base import Model
from framework.config.spec import G, ParseContext, spec
from framework.config.values import ValueProblem


class RunAs(Model):
    """``user NAME [GROUP];``: the account workers (and so CGI scripts) run as when
    webserv is started as root. ``group`` None means the user's primary group (nginx)."""

    name: str
    group: str | None = None
    span: Span | None = None


class OpsFields(Model):
    """The ``Config`` fields of these directives."""

    # None: no privilege drop (nginx would default to "nobody"; webserv keeps its uid)
    user: RunAs | None = None


def _account_name(value: str, span: Span, what: str) -> str:
    # names as getpwnam/getgrnam take them; a number is not looked up by nginx either
    if not value or any(c in value for c in " \t\n:/\0") or value.isdigit():
        raise ValueProblem(
            "invalid-value",
            f'invalid {what} name "{value}" in "user" directive',
            span,
            f"give the {what}'s name as in /etc/{'passwd' if what == 'user' else 'group'}",
        )
    return value


def _user(d: Directive, _: ParseContext) -> RunAs:
    name = _account_name(d.args[0].value, d.args[0].span, "user")
    group = _account_name(d.args[1].value, d.args[1].span, "group") if len(d.args) > 1 else None
    return RunAs(name=name, group=group, span=d.span)


# fmt: off
SPECS = [
    spec("user", G, "user NAME [GROUP];", max_args=2, parse=_user, scope="global",
         field="user",
         summary="when started as root: the user (and group) the workers and CGI run as"),
]
# fmt: on
