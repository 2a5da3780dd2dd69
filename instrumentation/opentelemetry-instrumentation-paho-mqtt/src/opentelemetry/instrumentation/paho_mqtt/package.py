"""What the instrumentation instruments: ``opentelemetry-instrument`` and ``instrument()`` skip
it, saying why, when the installed paho-mqtt is outside this range. The ``instruments``
extra of pyproject.toml says the same (tests/test_paho_mqtt_package.py keeps them equal)."""

_instruments = ("paho-mqtt >= 2.0, < 3",)
