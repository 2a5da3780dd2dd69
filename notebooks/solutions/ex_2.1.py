received = meter.create_counter("messages_received", unit="{message}")
for topic in topics:
    received.add(1, {"messaging.destination.name": topic})

check_metric("messages_received", by="messaging.destination.name", kind="counter", exercise="2.1")
