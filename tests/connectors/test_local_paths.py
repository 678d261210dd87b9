"""``open_local`` (issue 9, item 9): what connectors read and write in the local root is opened one
component at a time without following symbolic links, so none can lead a write outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airpipe.connectors.entrypoint import ConfigError
from airpipe.connectors.local_paths import open_local, resolve_local_path

APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root").mkdir()
    return (tmp_path / "root").resolve()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    return tmp_path / "outside"


def write(fd: int, data: bytes) -> None:
    with open(fd, "ab") as f:
        f.write(data)


def test_files_and_missing_directories_are_made_inside_the_root(root: Path) -> None:
    write(open_local(root / "a" / "b" / "x.jsonl", APPEND, root, make_dirs=True), b"1\n")
    write(open_local(root / "a" / "b" / "x.jsonl", APPEND, root), b"2\n")
    assert (root / "a" / "b" / "x.jsonl").read_bytes() == b"1\n2\n"
    directory = open_local(root / "a", os.O_RDONLY | os.O_DIRECTORY, root)
    try:
        with open(open_local("b/x.jsonl", os.O_RDONLY, directory), "rb") as f:
            assert f.read() == b"1\n2\n"
    finally:
        os.close(directory)
    with pytest.raises(FileNotFoundError):
        open_local(root / "missing" / "x.jsonl", APPEND, root)
    assert not (root / "missing").exists()


def test_a_missing_root_is_made_too(tmp_path: Path) -> None:
    root = tmp_path / "new" / "root"
    write(open_local(root.parent.resolve() / "root" / "x.jsonl", APPEND, root, make_dirs=True), b"1\n")
    assert (root / "x.jsonl").read_bytes() == b"1\n"


def test_a_symlinked_file_is_refused_for_appending_and_for_reading(root: Path, outside: Path) -> None:
    (outside / "users.jsonl").write_bytes(b"theirs\n")
    (root / "out").mkdir()
    (root / "out" / "users.jsonl").symlink_to(outside / "users.jsonl")
    for flags, verb in ((APPEND, "writes"), (os.O_WRONLY | os.O_TRUNC, "writes"), (os.O_RDONLY, "reads")):
        with pytest.raises(ConfigError) as info:
            open_local(root / "out" / "users.jsonl", flags, root, make_dirs=True)
        assert str(info.value) == f"{root}/out/users.jsonl is a symbolic link; airpipe {verb} only inside the local root"
    assert (outside / "users.jsonl").read_bytes() == b"theirs\n"


def test_a_dangling_symlink_is_not_created_through(root: Path, outside: Path) -> None:
    (root / "new.jsonl").symlink_to(outside / "new.jsonl")
    with pytest.raises(ConfigError, match="new.jsonl is a symbolic link; airpipe writes only inside the local root$"):
        open_local(root / "new.jsonl", APPEND | os.O_EXCL, root)
    assert list(outside.iterdir()) == []


def test_a_symlinked_directory_is_refused_anywhere_on_the_way(root: Path, outside: Path) -> None:
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "a").mkdir()
    (root / "a" / "b").symlink_to(outside, target_is_directory=True)
    for path, link in ((root / "out" / "users.jsonl", root / "out"), (root / "a" / "b" / "c" / "x.jsonl", root / "a" / "b")):
        with pytest.raises(ConfigError) as info:
            open_local(path, APPEND, root, make_dirs=True)
        assert str(info.value) == f"{link} is a symbolic link; airpipe writes only inside the local root"
    with pytest.raises(ConfigError, match="out is a symbolic link"):
        open_local(root / "out", os.O_RDONLY | os.O_DIRECTORY, root, make_dirs=True)
    assert list(outside.iterdir()) == []


def test_relative_to_a_directory_descriptor_the_message_names_the_directory(root: Path, outside: Path) -> None:
    (root / "x.jsonl").symlink_to(outside / "x.jsonl")
    directory = open_local(root, os.O_RDONLY | os.O_DIRECTORY, root)
    try:
        with pytest.raises(ConfigError, match=f"^{root}/x.jsonl is a symbolic link; airpipe writes"):
            open_local("x.jsonl", APPEND, directory, root_path=root)
        with pytest.raises(ValueError, match="is not a plain relative path"):
            open_local("../outside/x.jsonl", APPEND, directory)
    finally:
        os.close(directory)
    assert list(outside.iterdir()) == []


def test_a_symlinked_root_is_followed(tmp_path: Path, root: Path) -> None:
    """The local root itself may be a link (set by the operator): only what is inside it is checked."""
    (tmp_path / "link").symlink_to(root, target_is_directory=True)
    path = resolve_local_path("/local/x.jsonl", tmp_path / "link")
    write(open_local(path, APPEND, tmp_path / "link"), b"1\n")
    assert (root / "x.jsonl").read_bytes() == b"1\n"


def test_resolving_a_path_names_the_symlink_that_leads_out(root: Path, outside: Path) -> None:
    (root / "out").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError) as info:
        resolve_local_path("/local/out/x", root)
    assert str(info.value) == f"the path '/local/out/x' leads outside the local root {root}: {root}/out is a symbolic link"
