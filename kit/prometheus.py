"""Prometheus's pull model in the notebook: a scrape endpoint for the SDK's metrics, and a scrape.

OTLP *pushes*: the app sends its metrics out. Prometheus *pulls*: it reads ("scrapes") an
HTTP endpoint every ``scrape_interval``. The blog's collector opened such an endpoint with its
``prometheus`` exporter (``0.0.0.0:8889``); an app can open one itself, with no collector,
through a ``PrometheusMetricReader``, which turns the SDK's metrics into Prometheus's text
each time the endpoint is read:

    >>> from kit.prometheus import start_scrape_endpoint, scrape
    >>> endpoint = start_scrape_endpoint()           # 127.0.0.1 and a free port
    >>> provider = MeterProvider(metric_readers=[endpoint.reader])
    >>> provider.get_meter("lesson10").create_counter("message_count").add(3, {"topic": "t"})
    >>> print(scrape(endpoint.url))                  # what Prometheus reads
    >>> endpoint.stop()

How the reader names things (``opentelemetry-exporter-prometheus``):

    counter message_count              message_count_total (never _total_total)
    unit "ms", "s", "By", "m/s"        a suffix: _milliseconds, _seconds, _bytes, _meters_per_second
    unit "1", "{message}"              no suffix
    "." and other characters           "_" (names may keep ":", labels may not; a leading digit becomes "_")
    up-down counter, histogram         a gauge; _bucket{le="…"}, _count and _sum
    attributes                         labels, values as text (True as "true")
    the instrumentation scope          labels otel_scope_name, _version, _schema_url (scope_info_enabled=False: none)
    the resource                       one series target_info{service_name="…",…} 1 (disable_target_info=True: none)
    prefix="mqtt"                      mqtt_message_count_total

Keyword arguments of ``start_scrape_endpoint`` go to the reader (``prefix``,
``disable_target_info``, ``scope_info_enabled``, ``resource_attribute_filter``). Each endpoint
has its own registry: prometheus_client's global one is shared by the whole process, would add
the interpreter's own ``python_*`` and ``process_*`` series, and would show every series twice
after a cell that made a second reader runs again.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from prometheus_client import CollectorRegistry, start_http_server


@dataclass
class ScrapeEndpoint:
    """A running scrape endpoint: give ``reader`` to a ``MeterProvider``, point Prometheus at ``url``."""

    reader: PrometheusMetricReader
    host: str
    port: int
    _server: object

    def __repr__(self) -> str:
        return f"ScrapeEndpoint({self.url})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    @property
    def target(self) -> str:
        """``host:port``, as a Prometheus scrape config's ``targets`` lists it."""
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def start_scrape_endpoint(host: str = "127.0.0.1", port: int = 0, **reader_options) -> ScrapeEndpoint:
    """Serve a new ``PrometheusMetricReader``'s metrics on ``http://host:port/metrics`` (port 0: a free one)."""
    registry = CollectorRegistry()
    reader = PrometheusMetricReader(registry=registry, **reader_options)
    server, _ = start_http_server(port, addr=host, registry=registry)
    return ScrapeEndpoint(reader, host, server.server_port, server)


def scrape(url: str, timeout_s: float = 5.0) -> str:
    """Read a scrape endpoint once, as Prometheus does: the exposition text."""
    with urllib.request.urlopen(url, timeout=timeout_s) as reply:
        return reply.read().decode("utf-8")
