"""resolve_path / map_path: root and alias mapping, containment on the real path."""

import os
from pathlib import Path

import pytest

from framework.config.models import LocationConfig
from framework.http.errors import HTTPError
from framework.routing.paths import map_path, resolve_path, resolve_stat


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """www/ with files, a secret outside it, and symlinks in and out."""
    www = tmp_path / "www"
    (www / "sub").mkdir(parents=True)
    (www / "index.html").write_text("home")
    (www / "sub" / "page.txt").write_text("page")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.txt").write_text("x")
    os.symlink(tmp_path / "secret.txt", www / "leak.txt")
    os.symlink(tmp_path / "outside", www / "leakdir")
    os.symlink(www / "sub" / "page.txt", www / "inside-link.txt")
    os.symlink(www / "sub", www / "subalias")
    return tmp_path


def loc(**kw) -> LocationConfig:
    return LocationConfig(**kw)


def status_of(fn, *args, **kw) -> int:
    with pytest.raises(HTTPError) as info:
        fn(*args, **kw)
    return info.value.status


def test_root_maps_root_plus_full_uri(tree):
    location = loc(pattern="/sub/", root=tree / "www")
    assert map_path(location, "/sub/page.txt") == tree / "www" / "sub" / "page.txt"
    assert resolve_path(location, "/sub/page.txt") == tree / "www" / "sub" / "page.txt"


def test_alias_replaces_the_location_prefix(tree):
    location = loc(pattern="/files/", alias=tree / "www" / "sub")
    assert resolve_path(location, "/files/page.txt") == tree / "www" / "sub" / "page.txt"


def test_alias_of_prefix_without_slash_maps_the_rest(tree):
    location = loc(pattern="/files", alias=Path(str(tree / "www" / "sub") + "/"))
    assert resolve_path(location, "/files/page.txt").read_text() == "page"


def test_alias_traversal_through_a_prefix_without_slash_is_refused(tree):
    location = loc(pattern="/files", alias=Path(str(tree / "www" / "sub") + "/"))
    assert status_of(resolve_path, location, "/files../index.html") == 404
    assert status_of(resolve_path, location, "/files../../secret.txt") == 404


def test_missing_file_is_404(tree):
    location = loc(root=tree / "www")
    assert status_of(resolve_path, location, "/nope.txt") == 404
    assert status_of(resolve_path, location, "/index.html/x") == 404


def test_file_with_trailing_slash_is_404(tree):
    assert status_of(resolve_path, loc(root=tree / "www"), "/index.html/") == 404


def test_symlink_to_a_file_outside_the_root_is_refused(tree):
    assert status_of(resolve_path, loc(root=tree / "www"), "/leak.txt") == 404


def test_symlinked_directory_outside_the_root_is_refused(tree):
    location = loc(root=tree / "www")
    assert status_of(resolve_path, location, "/leakdir/x.txt") == 404
    assert status_of(resolve_path, location, "/leakdir/") == 404
    assert status_of(resolve_path, location, "/leakdir") == 404


def test_symlinks_that_stay_inside_the_root_are_followed(tree):
    location = loc(root=tree / "www")
    assert resolve_path(location, "/inside-link.txt").read_text() == "page"
    assert resolve_path(location, "/subalias/page.txt").read_text() == "page"


def test_root_itself_may_be_a_symlink(tree):
    os.symlink(tree / "www", tree / "www-link")
    location = loc(root=tree / "www-link")
    assert resolve_path(location, "/index.html").read_text() == "home"
    assert resolve_path(location, "/").is_dir()


def test_non_existing_target_is_allowed_when_its_parent_is_inside(tree):
    location = loc(root=tree / "www")
    assert resolve_path(location, "/sub/new.txt", must_exist=False) == (
        tree / "www" / "sub" / "new.txt"
    )
    _, st = resolve_stat(location, "/sub/new.txt", must_exist=False)
    assert st is None


def test_non_existing_target_under_an_escaping_symlink_is_refused(tree):
    location = loc(root=tree / "www")
    assert status_of(resolve_path, location, "/leakdir/new.txt", must_exist=False) == 404
    assert not (tree / "outside" / "new.txt").exists()


def test_existing_symlink_target_outside_is_refused_for_writes_too(tree):
    assert status_of(resolve_path, loc(root=tree / "www"), "/leak.txt", must_exist=False) == 404


def test_unsearchable_directory_is_403(tree):
    if os.geteuid() == 0:
        pytest.skip("root ignores permissions")
    locked = tree / "www" / "locked"
    locked.mkdir()
    (locked / "f").write_text("f")
    locked.chmod(0)
    try:
        assert status_of(resolve_path, loc(root=tree / "www"), "/locked/f") == 403
    finally:
        locked.chmod(0o755)


def test_exact_location_with_alias_maps_to_the_alias_itself(tree):
    location = loc(modifier="=", pattern="/home", alias=tree / "www" / "index.html")
    assert resolve_path(location, "/home").read_text() == "home"
