"""``include PATH|GLOB;``: relative to the main file, sorted globs, cycles, include chains."""

from __future__ import annotations

from pathlib import Path

from config_grammar.parser import parse_file, parse_text
from config_grammar.tree import Directive


def write(root: Path, name: str, text: str) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def names(nodes) -> list[str]:
    return [n.name for n in nodes if isinstance(n, Directive)]


def test_relative_includes_resolve_against_the_main_file_not_the_including_file(tmp_path):
    main = write(tmp_path, "main.conf", "include sub/a.conf;\n")
    write(tmp_path, "sub/a.conf", "workers 1;\ninclude sub/b.conf;\n")  # not sub/sub/b.conf
    write(tmp_path, "sub/b.conf", "pid run.pid;\n")
    result = parse_file(main)
    assert result.diagnostics == []
    assert names(result.nodes) == ["workers", "pid"]


def test_include_works_inside_blocks_and_splices_in_place(tmp_path):
    main = write(
        tmp_path, "main.conf", "server {\n    listen 80;\n    include loc.conf;\n    root www;\n}\n"
    )
    write(tmp_path, "loc.conf", "location / { }\nlocation /a { }\n")
    (server,) = parse_file(main).nodes
    assert names(server.block) == ["listen", "location", "location", "root"]


def test_glob_matches_are_included_in_sorted_order(tmp_path):
    main = write(tmp_path, "main.conf", "include sites/*.conf;\n")
    for name in ["c", "a", "b"]:
        write(tmp_path, f"sites/{name}.conf", f"server_name {name};\n")
    write(tmp_path, "sites/ignored.txt", "nope;\n")
    result = parse_file(main)
    assert [n.args[0].value for n in result.nodes] == ["a", "b", "c"]


def test_a_glob_whose_directory_does_not_exist_is_an_info_finding(tmp_path):
    main = write(tmp_path, "main.conf", "include conf.d/*.conf;\nworkers 1;\n")
    result = parse_file(main)
    (d,) = result.diagnostics
    assert (d.severity, d.rule) == ("info", "include-empty-glob")
    assert (d.span.line, d.span.col) == (1, 9)
    assert 'directory "conf.d" does not exist' in d.message
    assert result.ok and names(result.nodes) == ["workers"]


def test_a_glob_in_an_empty_drop_in_directory_is_silent_as_in_nginx(tmp_path):
    (tmp_path / "custom.d").mkdir()
    (tmp_path / "custom.d" / ".disabled.conf").write_text("workers 2;\n")
    (tmp_path / "custom.d" / "notes.txt").write_text("not a config\n")
    main = write(tmp_path, "main.conf", "include custom.d/*.conf;\nworkers 1;\n")
    result = parse_file(main)
    assert result.diagnostics == [] and names(result.nodes) == ["workers"]


def test_a_glob_with_magic_in_its_directory_is_judged_by_the_first_plain_directory(tmp_path):
    (tmp_path / "sites").mkdir()
    main = write(tmp_path, "main.conf", "include sites/*/on/*.conf;\ninclude nope/*/x.conf;\n")
    (d,) = parse_file(main).diagnostics
    assert (d.rule, d.span.line) == ("include-empty-glob", 2)
    assert 'directory "nope" does not exist' in d.message


def test_missing_file_is_an_error_at_the_path_argument(tmp_path):
    main = write(tmp_path, "main.conf", "workers 1;\ninclude nope.conf;\n")
    (d,) = parse_file(main).diagnostics
    assert (d.severity, d.rule, d.span.line, d.span.col) == ("error", "include-not-found", 2, 9)
    assert '"nope.conf"' in d.message


def test_include_of_a_directory_is_an_error(tmp_path):
    (tmp_path / "dir").mkdir()
    main = write(tmp_path, "main.conf", "include dir;\n")
    assert [d.rule for d in parse_file(main).diagnostics] == ["include-not-found"]


def test_include_needs_exactly_one_argument(tmp_path):
    result = parse_text("include a.conf b.conf;\ninclude;\n", base_dir=tmp_path)
    assert [d.rule for d in result.diagnostics] == ["include-invalid", "include-invalid"]


def test_include_cycle_is_an_error_that_shows_the_chain(tmp_path):
    main = write(tmp_path, "main.conf", "include a.conf;\n")
    write(tmp_path, "a.conf", "workers 1;\ninclude b.conf;\n")
    write(tmp_path, "b.conf", "include a.conf;\n")
    result = parse_file(main)
    (d,) = result.diagnostics
    assert d.rule == "include-cycle" and d.severity == "error"
    assert d.span.file == str(tmp_path / "b.conf")
    assert d.notes and "a.conf -> " in d.notes[0] and d.notes[0].endswith("a.conf")
    assert names(result.nodes) == ["workers"]


def test_a_file_including_itself_is_a_cycle(tmp_path):
    main = write(tmp_path, "main.conf", "include main.conf;\n")
    assert [d.rule for d in parse_file(main).diagnostics] == ["include-cycle"]


def test_including_the_same_file_twice_is_not_a_cycle(tmp_path):
    main = write(
        tmp_path, "main.conf", "server { include common.conf; }\nserver { include common.conf; }\n"
    )
    write(tmp_path, "common.conf", "root www;\n")
    result = parse_file(main)
    assert result.diagnostics == []
    assert [names(s.block) for s in result.nodes] == [["root"], ["root"]]


def test_nested_include_chain_is_outermost_first(tmp_path):
    main = write(tmp_path, "main.conf", "include a.conf;\n")
    a = write(tmp_path, "a.conf", "\ninclude b.conf;\n")
    write(tmp_path, "b.conf", "pid x;\n")
    (pid,) = parse_file(main).nodes
    assert [(s.file, s.line) for s in pid.include_chain] == [(main, 1), (a, 2)]


def test_syntax_errors_in_included_files_carry_file_and_include_chain(tmp_path):
    main = write(tmp_path, "main.conf", "server {\n    include bad.conf;\n}\n")
    bad = write(tmp_path, "bad.conf", "listen 80\n")
    result = parse_file(main)
    (d,) = result.diagnostics
    assert (d.rule, d.span.file, d.span.line) == ("missing-semicolon", bad, 1)
    assert [(s.file, s.line) for s in d.include_chain] == [(main, 2)]
    assert result.sources[bad] == "listen 80\n"


def test_include_path_may_use_environment_variables(tmp_path):
    write(tmp_path, "prod/site.conf", "workers 4;\n")
    result = parse_text("include ${STAGE}/site.conf;\n", env={"STAGE": "prod"}, base_dir=tmp_path)
    assert result.diagnostics == [] and names(result.nodes) == ["workers"]


def test_absolute_include_paths_are_used_as_is(tmp_path):
    other = write(tmp_path, "elsewhere/x.conf", "pid p;\n")
    result = parse_text(f"include {other};\n", base_dir="/nonexistent")
    assert names(result.nodes) == ["pid"]


def test_includes_can_be_left_unresolved(tmp_path):
    result = parse_text("include nope/*.conf;\n", base_dir=tmp_path, resolve_includes=False)
    assert result.diagnostics == [] and names(result.nodes) == ["include"]


def test_parse_text_resolves_relative_includes_against_base_dir(tmp_path):
    write(tmp_path, "x.conf", "pid p;\n")
    assert names(parse_text("include x.conf;", base_dir=tmp_path).nodes) == ["pid"]


def test_includes_under_a_dot_base_dir_are_named_without_dot_parts(tmp_path, monkeypatch):
    """--prefix . (or ./): spans, sources and include chains name "h5bp/x.conf", the way a
    user writes it, not "./h5bp/x.conf"; ".." parts are kept."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "h5bp/basic.conf", "include h5bp/./inner/*.conf;\n")
    write(tmp_path, "h5bp/inner/a.conf", "bogus_directive;\n")
    write(tmp_path, "conf.d/site.conf", "include h5bp/basic.conf;\ninclude ../nowhere/*.conf;\n")
    for prefix in (".", "./"):
        result = parse_file("conf.d/site.conf", base_dir=prefix)
        assert list(result.sources) == ["conf.d/site.conf", "h5bp/basic.conf", "h5bp/inner/a.conf"]
        (node,) = result.nodes
        assert node.span.file == "h5bp/inner/a.conf"
        assert [s.file for s in node.include_chain] == ["conf.d/site.conf", "h5bp/basic.conf"]
        (glob_note,) = result.diagnostics
        assert glob_note.message.startswith('"../nowhere/*.conf" matches no file')
