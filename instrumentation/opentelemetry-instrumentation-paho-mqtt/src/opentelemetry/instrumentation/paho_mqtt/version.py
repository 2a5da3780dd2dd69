"""The distribution's one version: pyproject.toml reads it from here, the tracer and the meter report it."""

__version__ = "0.1.0"
