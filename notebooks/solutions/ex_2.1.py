from kit.checks import check_metric

received = meter.create_counter("messages_received", unit="{message}")
for topic in ["sensors/temp", "sensors/temp", "sensors/humidity", "sensors/temp"]:
    received.add(1, {"messaging.destination.name": topic})

check_metric("messages_received", {"sensors/temp": 3, "sensors/humidity": 1}, by="messaging.destination.name",
             kind="counter")
