from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

from kit.checks import check_console_reader

console_provider = MeterProvider(
    metric_readers=[PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000)]
)
console_count = console_provider.get_meter("exercise").create_counter("console_count", unit="{message}")
for _ in range(2):
    console_count.add(1, {"messaging.destination.name": "sensors/temp"})
console_provider.force_flush()

check_console_reader(console_provider, "console_count", 2, {"messaging.destination.name": "sensors/temp"},
                     interval_ms=60_000, exercise="2.3")
