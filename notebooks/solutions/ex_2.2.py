payloads = [b'{"t": 20}', b'{"t": 21}', b'{"t": 22, "note": "window open"}']
sizes = meter.create_histogram("received_payload_size", unit="By")
for payload in payloads:
    sizes.record(len(payload))

check_metric("received_payload_size", 3, kind="histogram", total=sum(len(p) for p in payloads),
             values=[len(p) for p in payloads])
