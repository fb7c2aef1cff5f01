"""Bounded file reading (issue 9 §3): what cannot be a flow file is refused with one line, without
reading it; nothing is read past the size limit; an empty check is not "ok"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callguide.flow.loader import find_flow_files, load_flow, load_library, load_signposts
from callguide.flow.yamlsafe import MAX_BYTES, read_bounded, read_yaml

from .flowdata import TEXAS, write
from .measure import run_measured

pytestmark = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")


def one_line(m) -> str:
    lines = [x for x in (m.stdout + m.stderr).splitlines() if x.strip()]
    assert all("Traceback" not in x for x in lines), m.stderr
    return lines[0]


def test_symlink_to_dev_zero_is_refused_without_reading(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    m = run_measured("validate", str(link))
    assert m.code == 1
    assert one_line(m).endswith("zero.yaml:1:1: io: cannot read the file: it is a character device, not a regular file")
    assert m.cpu < 2 and m.maxrss_mb < 200, (m.cpu, m.maxrss_mb)
    # the library loader and the "guess its id" fallback read nothing either
    lib, diags = load_library([link], signposts=False)
    assert not lib.flows and [d.rule for d in diags] == ["io"]


def test_dev_zero_as_walk_script_signposts_or_yaml_is_one_line(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    data, _text, _raw, diags = read_yaml(link)
    assert data is None and diags[0].rule == "io"
    sp, diags = load_signposts(link)
    assert sp == {} and diags[0].rule == "io"
    m = run_measured("walk", str(Path(__file__).parents[1] / "engine" / "flows" / "main.yaml"), "--script", str(link))
    assert m.code != 0 and m.maxrss_mb < 200
    assert "io: cannot read the file: it is a character device" in one_line(m)


def test_sparse_two_gigabyte_file_costs_nothing(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.write(TEXAS.encode())
        fh.truncate(2 * 1024**3)  # sparse: no disk, no memory, unless someone reads it
    m = run_measured("validate", str(big))
    assert m.code == 1
    assert one_line(m).endswith(f"big.yaml:1:1: file-too-large: file is {2 * 1024**3} bytes; "
                                f"the limit is {MAX_BYTES} bytes (1 MiB)")
    assert m.cpu < 2 and m.maxrss_mb < 200, (m.cpu, m.maxrss_mb)
    # found in a folder (its first MiB says it is a flow), then refused the same way
    m = run_measured("validate", str(tmp_path))
    assert m.code == 1 and "file-too-large" in one_line(m) and m.maxrss_mb < 200


def test_symlink_loop_is_one_line(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.symlink_to(b)
    b.symlink_to(a)
    flow, diags = load_flow(a)
    assert flow is None
    assert [str(d) for d in diags] == [f"{a.as_posix()}:1:1: io: cannot read the file: too many levels of symbolic links"]
    assert find_flow_files([a]) == [a]  # resolving it must not raise
    assert find_flow_files([tmp_path]) == []  # skipped in a folder
    m = run_measured("validate", str(a))
    assert m.code == 1 and "too many levels of symbolic links" in one_line(m)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    data, diags = read_bounded(fifo)
    assert data is None and "it is a named pipe" in diags[0].message
    m = run_measured("validate", str(fifo), timeout=30)
    assert m.code == 1 and "named pipe" in one_line(m)


def test_empty_folder_or_folder_named_like_a_flow_is_not_ok(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    folder = tmp_path / "x.yaml"
    folder.mkdir()
    for target in (empty, folder):
        m = run_measured("validate", str(target))
        assert m.code == 1
        assert one_line(m) == f"Error: no flow files found in {target}"
    write(tmp_path / "notes", "readme.yaml", "title: not a flow\n")
    m = run_measured("validate", str(tmp_path / "notes"))
    assert m.code == 1 and one_line(m).startswith("Error: no flow files found in")
    flow, diags = load_flow(folder)
    assert flow is None and diags[0].message == "cannot read the file: it is a folder, not a regular file"


def test_missing_file_is_one_line(tmp_path):
    lib, diags = load_library([tmp_path / "nope.yaml"], signposts=False)
    assert [str(d) for d in diags] == [f"{(tmp_path / 'nope.yaml').as_posix()}:1:1: io: cannot read the file: "
                                       "no such file or directory"]


def test_read_bounded_reads_at_most_the_limit(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_bytes(b"schema: callguide/flow@1\n" + b"#" * (MAX_BYTES + 10))
    data, diags = read_bounded(p)
    assert data is None and diags[0].rule == "file-too-large"
    head, diags = read_bounded(p, head=True)
    assert diags == [] and len(head) == MAX_BYTES and head.startswith(b"schema:")
    ok = tmp_path / "ok.yaml"
    ok.write_bytes(b"x" * MAX_BYTES)
    data, diags = read_bounded(ok)
    assert diags == [] and len(data) == MAX_BYTES
    # a growing file, whose size said it was small when it was checked, is cut at the limit too:
    # /proc files report size 0 and are read to their end (here: much less than the limit)
    if Path("/proc/self/status").exists():
        data, diags = read_bounded("/proc/self/status")
        assert diags == [] and data and len(data) < MAX_BYTES


def test_publish_and_test_commands_read_no_device(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  tina: {roles: [trainer]}\n")  # past the role gate, to the file
    m = run_measured("publish", str(link), "-m", "note", "--by", "tina", "--db", str(tmp_path / "p.db"),
                     env={"CALLGUIDE_PEOPLE": str(people)})
    assert m.code != 0 and m.maxrss_mb < 200
    assert "cannot read the file: it is a character device" in (m.stdout + m.stderr)
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "x.test.yaml").symlink_to("/dev/zero")
    m = run_measured("test", str(tests / "x.test.yaml"))
    assert m.code != 0 and m.maxrss_mb < 200 and "Traceback" not in m.stderr
