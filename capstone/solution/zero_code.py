"""The lab's zero-code solution (exercise 12.2): the untouched app, each program started
under ``opentelemetry-instrument``.

In a terminal, with a broker and an OTLP endpoint running (``python -m kit broker
--protocol 5``, ``python -m kit receiver``), from capstone/greenhouse/:

    export MQTT_BROKER_URL=mqtt://localhost:1883 OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317
    export OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true
    OTEL_SERVICE_NAME=vent       opentelemetry-instrument python vent.py &
    OTEL_SERVICE_NAME=controller opentelemetry-instrument python controller.py &
    OTEL_SERVICE_NAME=sensor     opentelemetry-instrument python sensor.py &

``opentelemetry-instrument`` exports OTLP for traces, metrics and logs by default, loads
every installed instrumentation (the kit's ``paho_mqtt``, and ``logging``, which bridges
Python logging), and reads the rest from ``OTEL_*`` variables. Two of them matter here:
each program's own ``OTEL_SERVICE_NAME``, and, for the vent's MQTT 3.1.1 connection,
``OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true`` (the context in the JSON payload).

``command`` is the same thing for ``kit.capstone.Greenhouse.run(app, command=command)``.
"""

import shutil
import sys
import sysconfig

INSTRUMENT = shutil.which("opentelemetry-instrument", path=sysconfig.get_path("scripts")) or "opentelemetry-instrument"


def command(service: str, script: str):
    """How to start ``script`` (the program of ``service``) with zero-code instrumentation."""
    return [INSTRUMENT, sys.executable, script], {"OTEL_SERVICE_NAME": service,
                                                   "OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD": "true"}
