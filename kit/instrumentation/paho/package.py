_instruments = ("paho-mqtt >= 2.0",)
