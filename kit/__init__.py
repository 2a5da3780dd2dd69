"""The teaching kit behind the notebooks: "OpenTelemetry for MQTT apps in Python".

Modules, one job each (open any with ``??`` in a notebook to read it):

* :mod:`kit.telemetry` -- ``setup("my-service")``: providers, exporters, ``flush()``
* :mod:`kit.capture`   -- what was captured, as pandas DataFrames
* :mod:`kit.views`     -- ``waterfall()``, ``metrics_chart()``, ``logs_table()``
* :mod:`kit.otlp`      -- ``OTEL_*`` settings and ``check_endpoint()``
* :mod:`kit.checks`    -- the exercises' self-checks
* :mod:`kit.environment` -- the environment check of notebook 00
"""

__version__ = "0.1.0"
