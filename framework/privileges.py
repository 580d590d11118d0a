"""The ``user`` directive at run time: resolving the account, dropping privileges in a
worker, and handing the log files to that account.

As in nginx, the master keeps root (it binds listeners, opens logs and the pid file, and
reloads), and each worker drops to the configured user right after it has opened what it
needs (its access logs): supplementary groups (``initgroups``), then the group, then the
user, in that order, checked with ``getresuid``/``getresgid``. CGI scripts are children of
a worker, so they run as that user too. Started without root, ``user`` is ignored with one
warning (nginx: "makes sense only if the master process runs with super-user privileges").
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from framework.config.directives_ops import RunAs
from framework.config.models import Config


class PrivilegeError(Exception):
    """The ``user`` directive cannot be applied (unknown account, or the switch failed)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """The resolved account of a ``user`` directive."""

    user: str
    uid: int
    gid: int


def resolve(run_as: RunAs) -> Credentials:
    """The uid/gid of ``user NAME [GROUP]`` (group: the user's primary one by default)."""
    try:
        entry = pwd.getpwnam(run_as.name)
    except KeyError:
        raise PrivilegeError(f'unknown user "{run_as.name}" in "user" directive') from None
    gid = entry.pw_gid
    if run_as.group is not None:
        try:
            gid = grp.getgrnam(run_as.group).gr_gid
        except KeyError:
            raise PrivilegeError(f'unknown group "{run_as.group}" in "user" directive') from None
    return Credentials(run_as.name, entry.pw_uid, gid)


def applies(config: Config) -> bool:
    """Whether workers of ``config`` drop privileges: ``user`` is set and we are root."""
    return config.user is not None and os.geteuid() == 0


def ignored_warning(config: Config) -> str | None:
    """nginx's warning for ``user`` while not root (it is then ignored), or None."""
    if config.user is None or os.geteuid() == 0:
        return None
    where = f" in {config.user.span}" if config.user.span is not None else ""
    return (
        '[warn] the "user" directive makes sense only if the master process runs with '
        f"super-user privileges, ignored{where}"
    )


def drop_privileges(creds: Credentials) -> None:
    """Become ``creds`` for good (groups, gid, uid); raises ``PrivilegeError`` if any step
    fails or root could be regained."""
    try:
        os.initgroups(creds.user, creds.gid)
        os.setgid(creds.gid)
        os.setuid(creds.uid)
    except OSError as exc:
        raise PrivilegeError(
            f"cannot switch to user {creds.user} (uid {creds.uid}, gid {creds.gid}): "
            f"{exc.strerror or exc}"
        ) from exc
    if os.getresuid() != (creds.uid,) * 3 or os.getresgid() != (creds.gid,) * 3:
        raise PrivilegeError(f"switching to user {creds.user} left other ids in place")


def log_files(config: Config) -> list[Path]:
    """Every file the workers of ``config`` log to (error log and access logs)."""
    paths: list[Path] = []
    if isinstance(config.error_log.target, Path):
        paths.append(config.error_log.target)
    for server in config.servers:
        pending = [server.context, *server.locations]
        while pending:
            loc = pending.pop()
            pending.extend(loc.children)
            if isinstance(loc.access_log.target, Path) and loc.access_log.target not in paths:
                paths.append(loc.access_log.target)
    return paths


def hand_log_files_to(config: Config, creds: Credentials) -> list[str]:
    """As nginx's master does when it (re)opens logs: create each log file if missing and
    make ``creds.uid`` its owner, so that workers can reopen them after logrotate (USR1).
    Returns one message per file that could not be prepared (logged by the caller)."""
    problems: list[str] = []
    for path in log_files(config):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            problems.append(f"cannot open log file {path}: {exc.strerror or exc}")
            continue
        try:
            if os.fstat(fd).st_uid != creds.uid:
                os.fchown(fd, creds.uid, -1)
        except OSError as exc:
            problems.append(f"cannot chown log file {path}: {exc.strerror or exc}")
        finally:
            os.close(fd)
    return problems


def cgi_configured(config: Config) -> bool:
    """Whether any location runs CGI scripts."""
    for server in config.servers:
        pending = [server.context, *server.locations]
        while pending:
            loc = pending.pop()
            pending.extend(loc.children)
            if loc.cgi:
                return True
    return False
