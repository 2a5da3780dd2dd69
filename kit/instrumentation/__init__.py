"""Instrumentations shipped with the kit (``opentelemetry-instrument`` finds them by entry point)."""
