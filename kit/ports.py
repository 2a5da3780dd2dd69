"""Ports on this machine: find a free one, or tell whether one is taken.

    >>> from kit.ports import free_port, is_listening
    >>> port = free_port()             # a port nothing listens on, right now
    >>> is_listening("127.0.0.1", 4317)
    False
"""

import socket
from collections import deque

_handed_out: deque = deque(maxlen=64)  # the OS may offer a port again at once: two calls, two ports


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` at this moment (the OS picks it), and not one
    this process was handed a moment ago, so ``free_port(), free_port()`` are two ports."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            break
    _handed_out.append(port)
    return port


def is_listening(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
