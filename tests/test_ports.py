"""kit.ports: free ports and who listens."""

import socket

from kit.ports import free_port, is_listening


def test_two_free_ports_asked_for_in_a_row_are_two_ports():
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == 20


def test_a_free_port_is_not_listening_and_a_bound_one_is():
    port = free_port()
    assert not is_listening("127.0.0.1", port)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert is_listening("127.0.0.1", port)
