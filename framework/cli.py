"""The ``webserv`` command line: ``run``, ``validate-config``, ``fmt``, ``schema``."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

import framework

if TYPE_CHECKING:
    from config_grammar.diagnostics import Diagnostic
    from config_grammar.render_machine import ToolFailure

# exit codes of validate-config (SPEC 3)
EXIT_OK, EXIT_ERRORS, EXIT_WARNINGS, EXIT_UNUSABLE = 0, 1, 2, 3
EXIT_USAGE_RUN = 2


class UsageError(Exception):
    """argparse found a usage error; ``main`` maps it to the command's exit code."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="webserv", description="An HTTP/1.1 server with an nginx-style config.")
    parser.add_argument("--version", action="version", version=f"webserv {framework.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="serve (without CONFIG: the current directory on :8080)")
    run.add_argument("config", nargs="?", metavar="CONFIG")
    run.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes")
    run.add_argument("--check", action="store_true", help="validate the config and exit")
    run.add_argument("--prefix", type=_directory, metavar="DIR", help=_PREFIX_HELP)

    check = sub.add_parser("validate-config", help="validate a config file (side-effect free)")
    check.add_argument("config", metavar="CONFIG")
    check.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    check.add_argument("--explain", metavar="URL", help="show which server/location answers URL")
    check.add_argument("--no-fs", action="store_true", help="skip filesystem checks")
    check.add_argument("--strict", action="store_true", help="warnings fail (exit 2)")
    # checked by _validate, so that a bad prefix still gives a --format json|sarif document
    check.add_argument("--prefix", metavar="DIR", help=_PREFIX_HELP)
    check.add_argument(
        "--dump",
        action="store_true",
        help="print the effective config, includes and ${VARS} expanded (like nginx -T); "
        "as JSON with --format json",
    )

    fmt = sub.add_parser("fmt", help="format a config file canonically")
    fmt.add_argument("config", metavar="CONFIG")
    mode = fmt.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    mode.add_argument("--diff", action="store_true", help="print a unified diff")
    mode.add_argument("--write", action="store_true", help="rewrite the file in place")

    schema = sub.add_parser("schema", help="print the JSON Schema of the config (incl. plugins)")
    schema.add_argument(
        "config", nargs="?", metavar="CONFIG", help="also the handlers its load_module lines add"
    )
    schema.add_argument("--prefix", type=_directory, metavar="DIR", help=_PREFIX_HELP)

    sub.add_parser("lsp", help="run the config language server on stdin/stdout (for editors)")

    cert = sub.add_parser("cert", help="write a self-signed certificate for development")
    from framework.certs import add_cert_arguments

    add_cert_arguments(cert)
    return parser


_PREFIX_HELP = (
    "resolve relative includes and paths against DIR instead of the config file's directory "
    "(like nginx -p; for conf.d fragments)"
)


def _directory(text: str) -> Path:
    problem = _not_a_directory(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return Path(text)


def _not_a_directory(text: str) -> str | None:
    """Why ``text`` cannot be a ``--prefix`` directory, or None."""
    path = Path(text)
    if not path.exists():
        return f"no such directory: {text!r}"
    if not path.is_dir():
        return f"not a directory: {text!r}"
    return None


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid worker count: {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``webserv`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["validate-config"]:
        # side-effect free from the start: building the parser imports modules too
        sys.dont_write_bytecode = True
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
        return EXIT_UNUSABLE if "validate-config" in argv[:1] else EXIT_USAGE_RUN
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE_RUN
    commands = {
        "run": command_run,
        "validate-config": command_validate,
        "fmt": command_fmt,
        "schema": command_schema,
        "lsp": command_lsp,
        "cert": command_cert,
    }
    try:
        return commands[args.command](args)
    except BrokenPipeError:  # `webserv validate-config x --format json | head`: not a crash
        _silence_stdout()
        return EXIT_ERRORS


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


# -- run ------------------------------------------------------------------------------------


def command_run(args: argparse.Namespace) -> int:
    if args.check:
        from framework.config.build import load_config

        # an unreadable file is an invalid config (exit 1), as for `run` itself
        result = load_config(
            Path(args.config) if args.config else None, serving=True, prefix=args.prefix
        )
        print_diagnostics(result.diagnostics, result.sources, sys.stderr)
        if result.config is None:
            return EXIT_ERRORS
        print(f"webserv: configuration {args.config or '(default)'} is valid", file=sys.stderr)
        return EXIT_OK
    from framework.server import run_command

    return run_command(args)


def print_diagnostics(
    diagnostics: list, sources: dict[str, str], stream: TextIO, *, always: bool = False
) -> None:
    """Print diagnostics as ``validate-config`` does in text format (also used by ``run``);
    nothing when there are none, unless ``always`` (then the "no errors" summary)."""
    if not diagnostics and not always:
        return
    from config_grammar.render import render_text

    color = stream.isatty() and "NO_COLOR" not in os.environ
    stream.write(render_text(diagnostics, sources, color=color))


# -- validate-config ---------------------------------------------------------------------------


def _unreadable(name: str) -> str | None:
    """Why the file ``name`` cannot be read, or None (a device or a FIFO is not opened)."""
    try:
        mode = os.stat(name).st_mode
        if stat.S_ISDIR(mode):
            return "Is a directory"
        if not stat.S_ISREG(mode):
            return "not a regular file"
        with open(name, "rb"):
            pass
    except OSError as exc:
        return str(exc.strerror or exc)
    return None


def command_validate(args: argparse.Namespace) -> int:
    # side-effect free: importing a module (ours, or a plugin's via load_module) must not
    # write __pycache__ files
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        return _validate(args)
    finally:
        sys.dont_write_bytecode = writes_bytecode


def _validate(args: argparse.Namespace) -> int:
    from config_grammar.render_machine import ToolFailure
    from framework.config.build import load_config
    from framework.config.explain import ExplainError, check_url

    if args.explain is not None:
        try:
            check_url(args.explain)
        except ExplainError as exc:
            print(f"webserv validate-config: error: --explain: {exc}", file=sys.stderr)
            return _unusable(args, ToolFailure("invalid-explain-url", f"--explain: {exc}"))
    prefix = None if args.prefix is None else Path(args.prefix)
    if args.prefix is not None and (problem := _not_a_directory(args.prefix)) is not None:
        print(f"webserv validate-config: error: argument --prefix: {problem}", file=sys.stderr)
        return _unusable(args, ToolFailure("invalid-prefix", f"--prefix: {problem}"))
    reason = _unreadable(args.config)
    if reason is not None:
        message = f"cannot read {args.config}: {reason}"
        print(f"webserv: {message}", file=sys.stderr)
        return _unusable(args, ToolFailure("unreadable-file", message, args.config))
    result = load_config(Path(args.config), check_fs=not args.no_fs, prefix=prefix)
    fatal = next((d for d in result.diagnostics if d.rule == "unreadable-file"), None)
    if fatal is not None:  # (the file changed since _unreadable looked)
        others = [d for d in result.diagnostics if d is not fatal]
        print_diagnostics(others, result.sources, sys.stderr)
        print(f"webserv: {fatal.message}", file=sys.stderr)
        failure = ToolFailure(fatal.rule, fatal.message, args.config)
        return _unusable(args, failure, others)
    if args.dump:
        from framework.config.dump import command_dump

        return command_dump(args, result)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
    out = sys.stdout
    if args.format == "text":
        print_diagnostics(result.diagnostics, result.sources, out, always=True)
    else:
        _write_document(args.format, result.diagnostics)
    if args.explain is not None:
        stream = out if args.format == "text" else sys.stderr
        if result.config is None:
            stream.write(f"cannot explain {args.explain}: the configuration has errors\n")
        else:
            from framework.config.explain import explain

            stream.write(explain(result.config, args.explain).rstrip("\n") + "\n")
    if errors:
        return EXIT_ERRORS
    if warnings and args.strict:
        return EXIT_WARNINGS
    return EXIT_OK


def _unusable(
    args: argparse.Namespace, failure: ToolFailure, diagnostics: Sequence[Diagnostic] = ()
) -> int:
    """Exit 3 (the input could not be validated); with ``--format json|sarif`` the document
    still comes, saying why (the text on stderr is the same in every format)."""
    if args.format != "text" and not args.dump:
        _write_document(args.format, diagnostics, failure)
    return EXIT_UNUSABLE


def _write_document(
    fmt: str, diagnostics: Sequence[Diagnostic], failure: ToolFailure | None = None
) -> None:
    """The ``--format json`` or ``sarif`` document on stdout."""
    from config_grammar.render_machine import render_json, render_sarif

    if fmt == "json":
        text = render_json(diagnostics, failure)
    else:
        from framework.config.rules import rule_catalog

        text = render_sarif(diagnostics, rules=rule_catalog(), failure=failure)
    sys.stdout.write(text + "\n")


def command_cert(args: argparse.Namespace) -> int:
    from framework.certs import command_cert as run

    return run(args)


# -- fmt ------------------------------------------------------------------------------------------


def command_fmt(args: argparse.Namespace) -> int:
    from config_grammar.fmt import FormatError, encode_source, format_text, read_source

    path = Path(args.config)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"webserv: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        text = read_source(data, str(path))
        formatted = format_text(text, str(path))
    except FormatError as exc:  # a file that does not parse cannot be formatted
        print_diagnostics(exc.diagnostics, exc.sources, sys.stderr)
        return EXIT_ERRORS
    changed = formatted != text
    if args.check:
        if changed:
            print(f"would reformat {path}", file=sys.stderr)
        return EXIT_ERRORS if changed else EXIT_OK
    if args.diff:
        diff = difflib.unified_diff(
            text.splitlines(keepends=True),
            formatted.splitlines(keepends=True),
            f"{path} (original)",
            f"{path} (formatted)",
        )
        _write_stdout(encode_source("".join(diff)))
        return EXIT_OK
    if args.write:
        if changed:
            try:
                _replace_file(path, encode_source(formatted))
            except OSError as exc:
                print(f"webserv: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
                return EXIT_UNUSABLE
        return EXIT_OK
    _write_stdout(encode_source(formatted))
    return EXIT_OK


def _write_stdout(data: bytes) -> None:
    """``data`` to stdout as bytes: a comment's non-UTF-8 bytes are printed as they are."""
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path`` and rename it over ``path``, so an
    interrupted write never leaves a truncated config; the file's permission bits are kept."""
    mode = path.stat().st_mode & 0o7777
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path.resolve())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


# -- schema ----------------------------------------------------------------------------------------


def command_schema(args: argparse.Namespace) -> int:
    from framework.config.schema import command_schema as run

    return run(args)


# -- lsp -------------------------------------------------------------------------------------------


def command_lsp(args: argparse.Namespace) -> int:
    from framework.lsp import serve_stdio

    return serve_stdio()
