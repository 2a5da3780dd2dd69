"""The names the receiver answers to: the ``Host`` of every HTTP request (OTLP, Zipkin, the page).

    >>> allowed = Hosts("127.0.0.1")                  # the address the servers are bound to
    >>> allowed.refuse("127.0.0.1:4318"), allowed.refuse("localhost:16686")
    (None, None)
    >>> allowed.refuse("evil.example:4318")
    "Host 'evil.example' is not a name of this receiver ... --allow-host evil.example"

Why: a web page on any site can point a name of its own at 127.0.0.1 once the browser has
loaded it (DNS rebinding), then read ``/api/spans`` or post spans "to itself": the browser
thinks it talks to ``evil.example``, and says so in ``Host``. So the receiver answers only
the names a request to it really has:

* loopback: ``localhost`` (and ``*.localhost``), any address of 127.0.0.0/8, ``::1``;
* the host it is bound to (``start_receiver(host=...)``, ``python -m kit receiver --host``);
* bound to every address (``0.0.0.0`` or ``::``): any IP address too (no page can make a
  browser send an address as a name: rebinding needs a name);
* any name the user allows: ``start_receiver(allowed_hosts=["otel.lan"])`` or ``python -m
  kit receiver --host 0.0.0.0 --allow-host otel.lan`` (a container's name, in a compose file).

Any other ``Host`` gets a 403 that says how to allow it. A request with no ``Host`` at all
(HTTP/1.0) is answered: browsers always send one. gRPC is not checked: a browser cannot
speak it (HTTP/2 without TLS, trailers).
"""

from __future__ import annotations

import ipaddress

_WILDCARDS = {"0.0.0.0", "::", ""}


def _name(host: str) -> str:
    """``host`` without its port and brackets, lower case, without a final dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:4318
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _address(name: str):
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


class Hosts:
    """The names a receiver bound to ``bound`` answers to (see the module), and ``allowed``."""

    def __init__(self, bound: str = "127.0.0.1", allowed=()):
        self.bound = _name(bound) if not bound.startswith("[") else bound[1:-1]
        self.any_address = self.bound in _WILDCARDS
        self.names = {_name(a) for a in allowed} | ({self.bound} if not self.any_address else set())

    def allows(self, host: str) -> bool:
        name = _name(host)
        if name == "localhost" or name.endswith(".localhost") or name in self.names:
            return True
        address = _address(name)
        return address is not None and (address.is_loopback or self.any_address
                                        or address == _address(self.bound))

    def refuse(self, host: str | None) -> str | None:
        """None if a request with this ``Host`` header (None: none sent) is answered, else why not."""
        if host is None or self.allows(host):
            return None
        name = _name(host)[:80]
        return (f"Host {name!r} is not a name of this receiver: it answers localhost, 127.0.0.1, ::1"
                f"{'' if self.any_address or _address(self.bound) else ', ' + self.bound}"
                f"{' and any IP address' if self.any_address else ''}"
                f"{''.join(', ' + n for n in sorted(self.names - {self.bound}))}. A web page of another site "
                f"may be trying to read it (DNS rebinding). To reach it by this name, start it with "
                f"--allow-host {name} (start_receiver(allowed_hosts=[{name!r}]))")

    def refuse_request(self, headers) -> str | None:
        """:meth:`refuse` for a request's headers (two ``Host`` headers are refused too)."""
        hosts = headers.get_all("Host") or []
        if len(hosts) > 1:
            return "a request may have one Host header, not several"
        return self.refuse(hosts[0] if hosts else None)
