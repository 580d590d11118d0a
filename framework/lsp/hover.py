"""Hover documentation for a directive, from its row of the directive table."""

from __future__ import annotations

from framework.config.directives import DirectiveSpec

_INHERITANCE = {
    "location": "yes: a server or location that does not set it uses the enclosing block's "
    "value (a list set in a block replaces the inherited list)",
    "server": "yes: from the top level into every server that does not set it",
    "global": "no: it is set once, at the top level",
}


def inheritance(row: DirectiveSpec) -> str:
    """Whether and how the directive's value is inherited by inner blocks."""
    if row.name == "return":
        return "no: a location's return is not inherited by nested locations"
    if row.scope is None:
        return "no: it structures the configuration"
    return _INHERITANCE[row.scope]


def hover_markdown(row: DirectiveSpec) -> str:
    """Markdown for a hover on the name of the directive ``row`` describes."""
    lines = [f"**{row.name}**" + (f" — {row.summary}" if row.summary else ""), ""]
    lines += ["```", row.usage, "```", ""]
    lines.append(f"- Contexts: {row.context_text()}")
    if row.default:
        lines.append(f"- Default: `{row.default}`")
    lines.append(f"- Inherited: {inheritance(row)}")
    return "\n".join(lines)
