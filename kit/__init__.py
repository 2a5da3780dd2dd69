"""The teaching kit behind the notebooks: "OpenTelemetry for MQTT apps in Python".

Modules, one job each (open any with ``??`` in a notebook to read it):

* :mod:`kit.telemetry` -- ``setup("my-service")``: providers, exporters, ``flush()``, ``shutdown()``
* :mod:`kit.capture`   -- what was captured, as pandas DataFrames
* :mod:`kit.views`     -- ``waterfall()``, ``service_map()``, ``metrics_chart()``, ``logs_table()``
* :mod:`kit.otlp`      -- ``OTEL_*`` settings and ``check_endpoint()``
* :mod:`kit.checks`    -- the exercises' self-checks
* :mod:`kit.environment` -- the environment check of notebook 00
* :mod:`kit.broker`, :mod:`kit.mqtt_broker` -- embedded MQTT brokers (3.1.1 and v5)
* :mod:`kit.clients`, :mod:`kit.inbox` -- a connected paho client in one call; an ``on_message`` to wait on
* :mod:`kit.propagation` -- W3C trace context in MQTT v5 user properties and 3.1.1 JSON payloads
* ``PahoMqttInstrumentor`` is a distribution of its own, opentelemetry-instrumentation-paho-mqtt
  (folder ``instrumentation/``): ``from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor``
* :mod:`kit.overhead`  -- ``measure()``: what tracing adds to a message, against the SDK's floor
* :mod:`kit.loopback`  -- a paho client whose messages come straight back, without a broker
* :mod:`kit.throughput` -- messages per second over a real broker: the instrumentation against the blog
* :mod:`kit.receiver`  -- an embedded OTLP endpoint (gRPC and HTTP; Zipkin too), as the OTLP
  specification asks, and its web page; a package, one module per job (its docstring lists them)
* :mod:`kit.remote`    -- a notebook reading a receiver started in a terminal
* :mod:`kit.rows`      -- the columns of every DataFrame (captured or received), and their JSON
* :mod:`kit.attempts`, :mod:`kit.running` -- what the cell being run made (the self-checks' watermark),
  and the services and receivers it reads
* :mod:`kit.prometheus` -- a Prometheus scrape endpoint for the SDK's metrics, and ``scrape()``
* :mod:`kit.collector_config` -- check and draw OpenTelemetry Collector configs
* :mod:`kit.service_runtime` -- what the example services in ``services/`` share
* :mod:`kit.doctor`    -- ``python -m kit doctor``: is this machine ready?
* :mod:`kit.ports`     -- free ports, and who listens
* :mod:`kit.classroom` -- the class board: a workshop's self-checks, live on the instructor's screen
  (opt-in: ``kit.classroom.join(...)``, or ``KIT_CLASSROOM`` set before Jupyter starts)
"""

import os as _os

from kit.environment import say_what_is_missing as _say_what_is_missing

__version__ = "0.1.0"

_say_what_is_missing()  # a lesson importing the paho instrumentation where it is not installed says how to fix it

if _os.environ.get("KIT_CLASSROOM"):  # a workshop: this kernel joins the class board (kit.classroom)
    from kit.classroom.learner import join_from_environment as _join_the_room

    _join_the_room()
