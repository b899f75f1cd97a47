"""The ssh runtime's nodes file: Jepsen's one host per line, plus per-line settings."""

import pytest

from unkindness.harness.runtimes.base import RuntimeError_
from unkindness.harness.runtimes.ssh import Options, cleanup_script, read_nodes_file


def test_lines_take_the_flags_as_defaults_and_paths_are_relative_to_the_file(tmp_path):
    f = tmp_path / "nodes.txt"
    f.write_text("# our machines\n\ndb1.example.com\nadmin@10.0.0.2:2222 key=keys/id ip=192.168.0.2  # the second\n"
                 "[fd00::3]:23 user=ops known_hosts=/etc/kh\n")
    o = Options(nodes_file=str(f), ssh_user="deploy", ssh_key="/k/default", ssh_port=2200)
    a, b, c = read_nodes_file(str(f), o)
    assert (a.host, a.port, a.user, a.key, a.ip, a.line) == ("db1.example.com", 2200, "deploy", "/k/default", "", 3)
    assert (b.host, b.port, b.user, b.key, b.ip) == ("10.0.0.2", 2222, "admin", str(tmp_path / "keys" / "id"),
                                                       "192.168.0.2")
    assert (c.host, c.port, c.user, c.known_hosts) == ("fd00::3", 23, "ops", "/etc/kh")
    assert b.where() == "admin@10.0.0.2:2222"


@pytest.mark.parametrize("text,message", [
    ("", "lists no machines"),
    ("# only a comment\n", "lists no machines"),
    ("h1\nh2 colour=blue\n", ":2: 'colour=blue' is not a setting"),
    ("h1:99999\n", ":1: 'h1:99999' is not [user@]host[:port]"),
    ("h1:ssh\n", "is not [user@]host[:port]"),
    ("root@\n", "is not [user@]host[:port]"),
])
def test_a_malformed_file_is_refused_with_its_line(tmp_path, text, message):
    f = tmp_path / "nodes.txt"
    f.write_text(text)
    with pytest.raises(RuntimeError_, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_nodes_file(str(f), Options())


def test_a_missing_or_unnamed_file_is_refused_with_the_fix(tmp_path):
    with pytest.raises(RuntimeError_, match="needs --nodes-file FILE"):
        read_nodes_file("", Options())
    with pytest.raises(RuntimeError_, match="No such file"):
        read_nodes_file(str(tmp_path / "absent.txt"), Options())
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(RuntimeError_, match="not a text file"):
        read_nodes_file(str(tmp_path / "bin"), Options())


def test_the_cleanup_script_is_valid_shell_and_only_kills_a_server_of_its_own_folder(tmp_path):
    import subprocess

    script = cleanup_script(str(tmp_path / "run-n1"), ["10.0.0.2"])
    assert subprocess.run(["sh", "-n", "-c", script]).returncode == 0
    assert "grep -q -F" in script and "/proc/$p/cmdline" in script
