from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

from kit.checks import check_otlp_logs

disk_provider = LoggerProvider(resource=Resource.create({"service.name": "disk-monitor"}))
disk_provider.add_log_record_processor(
    BatchLogRecordProcessor(OTLPLogExporter(endpoint=receiver.grpc_endpoint, insecure=True))
)
set_logger_provider(disk_provider)  # refused here: the kit set one first (the handler below does not need it)

disk = logging.getLogger("myapp.disk")
disk.handlers[:] = [LoggingHandler(logger_provider=disk_provider)]  # replace: a re-run adds no second handler

disk.warning("disk almost full")
disk_provider.force_flush()

check_otlp_logs(receiver, "disk almost full", service="disk-monitor", severity="WARN", logger="myapp.disk",
                provider=disk_provider, exercise="3.2")
