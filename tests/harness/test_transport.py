"""The client's transport against a real server: one kept connection, replaced when the server
closed it (a restart), and errors that say whether the request can have been sent."""

from __future__ import annotations

import signal
import socket

import pytest

from support.server_procs import start_server
from unkindness.harness.transport import Connection, TransportError

pytestmark = pytest.mark.timeout(60)


def test_one_kept_connection_survives_a_server_restart(tmp_path) -> None:
    node = start_server(tmp_path / "n", "db")
    try:
        c = Connection(node.url, timeout=2)
        r = c.request("GET", "/databases/db/cmpxchg?key=k", params={"linearizable": "true"})
        assert r.status_code == 404 and "does not exist" in r.json()["Message"]
        assert r.headers["content-type"].startswith("application/json")  # header names in any case
        put = c.request("PUT", "/databases/db/cmpxchg?key=k&index=0", b'{"Object": 1}',
                        headers={"Content-Type": "application/json"})
        assert put.status_code == 200 and put.json()["Successful"] is True
        assert c.opened == 1  # the same connection, kept alive
        node.kill()
        node.start()
        # The kept socket was closed by the old process: noticed before use, not sent into.
        again = c.request("GET", "/databases/db/cmpxchg?key=k&linearizable=true")  # after the replay
        assert again.status_code == 200 and again.json()["Results"][0]["Value"]["Object"] == 1
        assert c.opened == 2
    finally:
        node.kill()


def test_errors_say_whether_the_request_can_have_been_sent(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(TransportError) as e:
        Connection(dead, timeout=1).request("GET", "/")
    assert (e.value.kind, e.value.sent) == ("refused", False)
    node = start_server(tmp_path / "p", "db")
    try:
        c = Connection(node.url, timeout=0.5)
        assert c.request("GET", "/databases/db/cmpxchg?key=k").status_code == 404
        node.node.signal(signal.SIGSTOP)
        with pytest.raises(TransportError) as e:
            c.request("PUT", "/databases/db/cmpxchg?key=k&index=0", b'{"Object": 2}')
        assert (e.value.kind, e.value.sent) == ("timeout", True)  # it may yet be applied
    finally:
        node.kill()
    with pytest.raises(ValueError, match="not an http"):
        Connection("https://x:1", 1)
