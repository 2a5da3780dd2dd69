"""Reading what a learner built (providers, processors, exporters), so a check can say
*why* telemetry did not arrive. These read the SDK's private attributes, defensively:
a change in the SDK makes them return nothing, never raise."""

from __future__ import annotations


def span_processors(provider) -> list:
    """The span processors added to an SDK ``TracerProvider``."""
    multi = getattr(provider, "_active_span_processor", None)
    return list(getattr(multi, "_span_processors", ()) or ())


def log_processors(provider) -> list:
    """The log record processors added to an SDK ``LoggerProvider``."""
    multi = getattr(provider, "_multi_log_record_processor", None)
    return list(getattr(multi, "_log_record_processors", ()) or ())


def exporter_of(processor):
    """The exporter a Simple/Batch span or log processor sends to (None if unknown)."""
    batch = getattr(processor, "_batch_processor", None)
    for owner, attribute in ((batch, "_exporter"), (processor, "span_exporter"), (processor, "_exporter")):
        exporter = getattr(owner, attribute, None) if owner is not None else None
        if exporter is not None:
            return exporter
    return None


def queued(processor) -> int:
    """How many items wait in a Batch processor's queue (0 for others)."""
    batch = getattr(processor, "_batch_processor", None)
    return len(getattr(batch, "_queue", ()) or ())


def schedule_delay_s(processor) -> float | None:
    """How often a Batch processor sends on its own, in seconds (None for others)."""
    batch = getattr(processor, "_batch_processor", None)
    delay = getattr(batch, "_schedule_delay", None)
    return float(delay) if isinstance(delay, (int, float)) and delay > 0 else None


def endpoint_of(exporter) -> str | None:
    """Where an OTLP exporter sends: ``host:port`` for gRPC, the URL for HTTP."""
    return getattr(exporter, "_endpoint", None)


def unread_sums(provider) -> bool | None:
    """Has a counter of this MeterProvider recorded something its readers have not collected yet?
    (True: not flushed since; False: every count was read; None: unknown, e.g. another SDK.)"""
    try:
        storages = provider._measurement_consumer._reader_storages.values()
        seen = False
        for storage in storages:
            for matches in storage._instrument_view_instrument_matches.values():
                for match in matches:
                    for aggregation in match._attributes_aggregation.values():
                        if hasattr(aggregation, "_previous_value") and hasattr(aggregation, "_value"):
                            seen = True
                            if aggregation._value is not None:
                                return True
        return False if seen else None
    except Exception:
        return None
