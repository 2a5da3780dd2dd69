"""What runs in this process and makes telemetry: the services set up and the receivers started.

:func:`kit.telemetry.setup` adds each service here and :mod:`kit.receiver` each receiver's
store; :mod:`kit.attempts` reads both when a cell starts (it reads every service's metrics,
and notes how much each receiver has received, so a self-check judges only what came
after). Neither side imports the other: they meet here.

    >>> from kit import running
    >>> running.services()        # {"sensor": <Telemetry service.name='sensor' ...>, ...}
    >>> running.receivers()       # [<kit.receiver.store.Received ...>, ...]

It keeps nothing alive: a service or a receiver that its owner lets go leaves on its own.
"""

from __future__ import annotations

import threading
import weakref

_lock = threading.Lock()
_services: "weakref.WeakValueDictionary[str, object]" = weakref.WeakValueDictionary()
_receivers: "weakref.WeakValueDictionary[int, object]" = weakref.WeakValueDictionary()


def add_service(name: str, service) -> None:
    """A service set up under ``name`` (it has ``read_metrics(timeout_s)``); replaces an
    earlier one of that name."""
    with _lock:
        _services[name] = service


def services() -> dict:
    """The services by name, in the order they were first added."""
    with _lock:
        return dict(_services)


def add_receiver(store) -> None:
    """A receiver's store (it has ``totals()``: how much it has received so far)."""
    with _lock:
        _receivers[id(store)] = store


def receivers() -> list:
    """The stores of the receivers still running (or still referenced)."""
    with _lock:
        return list(_receivers.values())
