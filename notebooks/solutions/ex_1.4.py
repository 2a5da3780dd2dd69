from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

from kit.checks import check_otlp_export

grpc_provider = TracerProvider(resource=resource)
grpc_provider.add_span_processor(
    BatchSpanProcessor(GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True))
)

http_provider = TracerProvider(resource=resource)
http_provider.add_span_processor(
    BatchSpanProcessor(HttpSpanExporter(endpoint=receiver.http_endpoint + "/v1/traces"))
)

with grpc_provider.get_tracer("exercise").start_as_current_span("sent over gRPC"):
    pass
with http_provider.get_tracer("exercise").start_as_current_span("sent over HTTP"):
    pass
grpc_provider.force_flush()
http_provider.force_flush()

check_otlp_export(receiver, grpc_provider=grpc_provider, http_provider=http_provider, exercise="1.4")
