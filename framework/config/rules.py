"""The catalog of diagnostic rules: every ID ``validate-config`` can report, with its default
severity, a one-line summary and where its documentation is (SARIF ``shortDescription`` and
``helpUri``; the language server's hover).

Each rule is documented in docs/rules.md under an anchor named for its ID; ``rule_url`` is
that page's address (the ``Documentation`` project URL) plus ``#ID``. A test scans the
source for rule IDs, so a new rule missing here or from docs/rules.md fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from config_grammar.diagnostics import Severity

# what pyproject's [project.urls] Documentation says, for an install without that metadata
DEFAULT_DOCS_URL = "https://webserv.invalid/docs/"
RULES_PAGE = "rules.md"


@dataclass(frozen=True)
class RuleInfo:
    """What is known about a rule ID without running it."""

    id: str
    severity: Severity
    summary: str
    help_uri: str


@cache
def docs_url() -> str:
    """The documentation base URL, from the installed package's ``Project-URL:
    Documentation`` (ending in "/")."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("webserv").get_all("Project-URL") or []
    except PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation" and url.strip():
            return url.strip().rstrip("/") + "/"
    return DEFAULT_DOCS_URL


def rule_url(rule_id: str) -> str:
    """Where ``rule_id`` is documented: its anchor in docs/rules.md."""
    return f"{docs_url()}{RULES_PAGE}#{rule_id}"


# The rules the lexer, parser and builder report (the lint rules describe themselves).
_CORE: dict[str, tuple[Severity, str]] = {
    # reading and parsing
    "unreadable-file": ("error", "the configuration file cannot be read"),
    "invalid-explain-url": ("error", "the --explain URL cannot be parsed (nothing validated)"),
    "invalid-prefix": ("error", "the --prefix DIR is not a directory (nothing validated)"),
    "syntax-error": ("error", "text that is not a directive, a block or a comment"),
    "unterminated-string": ("error", "a quoted string without its closing quote"),
    "missing-semicolon": ("error", 'a directive not terminated by ";"'),
    "binary-file": ("error", "a NUL byte: the file is binary, not a configuration"),
    "invalid-utf8": ("error", "bytes that are not valid UTF-8"),
    "unquoted-regex-brace": ("error", 'a regex holding "{" that is not quoted'),
    "unbalanced-brace": ("error", 'a "}" that closes no block, or a block never closed'),
    "nesting-too-deep": ("error", "blocks nested deeper than the parser allows"),
    "include-not-found": ("error", "an include that names no file"),
    "include-empty-glob": ("info", "an include pattern whose directory does not exist"),
    "include-invalid": ("error", "an include argument that cannot be used"),
    "include-unreadable": ("error", "an included file that cannot be read"),
    "include-cycle": ("error", "files that include each other"),
    "undefined-variable": ("error", "a ${NAME} environment reference with no value"),
    "invalid-variable": ("error", "a malformed ${...} environment reference"),
    "unterminated-variable": ("error", 'a "${" reference without its closing "}"'),
    # building the model
    "internal-error": ("error", "an unexpected exception inside webserv (a bug to report)"),
    "unknown-directive": ("error", "a directive neither webserv nor nginx knows"),
    "unsupported-nginx-directive": (
        "error",
        "an nginx directive webserv does not support (with the equivalent or advice)",
    ),
    "unsupported-feature": (
        "error",
        "a form nginx accepts that webserv does not implement (named locations, listen quic...)",
    ),
    "not-allowed-here": ("error", "a directive in a block where it is not allowed"),
    "missing-block": ("error", "a block directive written without its { } block"),
    "unexpected-block": ("error", "a { } block given to a directive that takes none"),
    "invalid-arg-count": ("error", "a directive with the wrong number of arguments"),
    "invalid-value": ("error", "an argument that is not a valid value for the directive"),
    "invalid-size": ("error", 'a size that is not a number with an optional "k"/"m"/"g"'),
    "invalid-time": ("error", "a time value nginx would reject"),
    "invalid-status": ("error", "an HTTP status code out of the range the directive accepts"),
    "redirect-without-url": ("warning", 'a "return 301;" without a URL: Location is sent empty'),
    "invalid-port": ("error", "a port outside 1-65535"),
    "invalid-listen": ("error", "a listen address or parameter that cannot be used"),
    "invalid-regex": ("error", "a regular expression that does not compile"),
    "invalid-location": ("error", "a location modifier or pattern that cannot be used"),
    "invalid-app-target": ("error", 'an asgi/wsgi target that is not "module:attribute"'),
    "location-outside-parent": ("error", "a nested location its parent can never pass on"),
    "duplicate-directive": ("error", "a directive given twice where only one is allowed"),
    "duplicate-listen": ("error", "the same listen address twice in one server"),
    "duplicate-location": ("error", "two locations with the same modifier and pattern"),
    "duplicate-default-server": ("error", "two default servers for one address"),
    "duplicate-value": ("warning", "a map key or list value given twice"),
    "conflicting-server-name": ("warning", "one server name on one address in two servers"),
    "root-with-alias": ("error", "root and alias in the same location"),
    "insecure-tls-protocol": ("warning", "a TLS protocol version with known weaknesses"),
    "tls-protocol-gap": ("warning", "ssl_protocols that skip a version between two enabled"),
    # handlers and plugins
    "unknown-handler": ("error", "a handler name no installed plugin provides"),
    "handler-name-clash": ("error", "two handlers with one name, or an unloadable one"),
    "handler-invalid": ("error", "a malformed handler class (bad name, sync handle, ...)"),
    "unknown-handler-setting": ("error", "a setting the handler does not declare"),
    "invalid-handler-setting": ("error", "a handler setting whose value does not validate"),
    "duplicate-setting": ("warning", "a handler setting given twice"),
    "handler-check": ("error", "a finding of a handler's own check(settings, ctx)"),
    "load-module-failed": ("error", "a load_module that cannot be imported"),
    "shadowed-package": ("error", "a load_module name hidden by another package"),
    "lint-plugin-error": ("error", "a lint plugin that cannot be loaded, clashes or fails"),
    # findings of lint rules registered under a broader ID
    "location-partly-shadowed": ("info", "some URIs of a prefix location go to a regex location"),
    "htpasswd-no-users": ("warning", "an htpasswd file without a single user"),
    "htpasswd-duplicate-user": ("warning", "a user listed twice in an htpasswd file"),
    "htpasswd-unsupported-hash": ("error", "an htpasswd hash scheme webserv cannot check"),
    "htpasswd-slow-hash": ("warning", "an htpasswd hash so slow each check blocks a worker"),
    "access-rule-host-bits": ("warning", "an allow/deny network with host bits set"),
    "app-not-importable": ("error", "an asgi/wsgi app module that cannot be imported"),
    "app-wrong-interface": ("error", "an asgi/wsgi target that is not that kind of app"),
    "app-import-timeout": ("warning", "an app module too slow to import to be checked"),
    "proxy-pass-uri-in-regex": ("error", "proxy_pass with a URI part in a regex location"),
    "upstream-with-port": ("error", "proxy_pass naming an upstream with a port"),
    "tls-certificate-invalid": ("error", "an ssl_certificate file that is not a certificate"),
    "tls-key-invalid": ("error", "an ssl_certificate_key file that is not a private key"),
    "tls-key-mismatch": ("error", "a certificate and key that do not belong together"),
    "tls-certificate-expired": ("error", "a certificate past its notAfter date"),
    "tls-certificate-expiring": ("warning", "a certificate that expires within 14 days"),
    "tls-certificate-not-yet-valid": ("warning", "a certificate before its notBefore date"),
    "tls-name-not-covered": ("warning", "a server name the certificate does not cover"),
    "tls-dhparam-invalid": ("error", "an ssl_dhparam file that is not DH parameters"),
}


def rule_catalog() -> dict[str, RuleInfo]:
    """Every rule by ID: the parser's and builder's, the built-in lints, plugin rules."""
    from framework.config.lint import RULES
    from framework.config.lint_plugins import plugin_rules

    catalog = {
        rule_id: RuleInfo(rule_id, severity, summary, rule_url(rule_id))
        for rule_id, (severity, summary) in _CORE.items()
    }
    for rule in RULES:
        catalog[rule.id] = RuleInfo(rule.id, rule.severity, rule.summary, rule.help_uri)
    for plugin in plugin_rules(rule.id for rule in RULES).rules:
        catalog.setdefault(
            plugin.id, RuleInfo(plugin.id, plugin.severity, plugin.summary, plugin.help_uri)
        )
    return catalog
