sizes = meter.create_histogram("received_payload_size", unit="By")
for payload in payloads:
    sizes.record(len(payload))

check_metric("received_payload_size", kind="histogram", exercise="2.2")  # one measurement per payload: its size
