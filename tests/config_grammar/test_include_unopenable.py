"""An include that exists but cannot be followed says why, as nginx does ("open() ... failed
(40: Too many levels of symbolic links)"), instead of "not found"."""

from __future__ import annotations

from pathlib import Path

from framework.config.build import load_config


def _include_diagnostics(main: Path) -> list[tuple[str, str, str | None]]:
    result = load_config(main, env={}, check_fs=False)
    return [(d.rule, d.message, d.hint) for d in result.diagnostics]


def test_an_include_of_a_symlink_loop_says_too_many_levels_of_symbolic_links(tmp_path):
    (tmp_path / "loop.conf").symlink_to("loop.conf")
    main = tmp_path / "main.conf"
    main.write_text("server { listen 8080; include loop.conf; }\n")
    assert _include_diagnostics(main) == [
        (
            "include-not-found",
            'cannot open included file "loop.conf": too many levels of symbolic links',
            "symbolic links on this path form a loop: fix the link",
        )
    ]


def test_a_two_link_cycle_is_a_loop_too(tmp_path):
    (tmp_path / "a.conf").symlink_to("b.conf")
    (tmp_path / "b.conf").symlink_to("a.conf")
    main = tmp_path / "main.conf"
    main.write_text("include a.conf;\nserver { listen 8080; }\n")
    [(rule, message, _)] = _include_diagnostics(main)
    assert rule == "include-not-found"
    assert message.endswith("too many levels of symbolic links")


def test_a_dangling_symlink_and_a_missing_file_are_still_not_found(tmp_path):
    (tmp_path / "dangling.conf").symlink_to("nowhere.conf")
    main = tmp_path / "main.conf"
    main.write_text("include dangling.conf;\ninclude missing.conf;\nserver { listen 8080; }\n")
    messages = [message for _, message, _ in _include_diagnostics(main)]
    assert messages == [
        'included file "dangling.conf" not found',
        'included file "missing.conf" not found',
    ]
