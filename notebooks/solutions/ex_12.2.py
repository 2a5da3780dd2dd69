def zero_code(service, script):
    """How to start one program of the untouched app: the command, and the variables it needs."""
    command = [INSTRUMENT, sys.executable, script]   # every installed instrumentation, then the script
    env = {"OTEL_SERVICE_NAME": service,             # each program its own name
           "OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD": "true"}  # on MQTT 3.1.1 (the vent): the context in the JSON
    return command, env


zero = lab.run("../capstone/greenhouse", command=zero_code)
check_checkpoint(zero, zero_code=True)
