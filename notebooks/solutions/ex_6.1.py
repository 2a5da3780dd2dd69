from opentelemetry.propagators.textmap import Getter, Setter

from kit.checks import check_getter_setter


class PropertiesGetter(Getter):
    def get(self, carrier, key):
        pairs = getattr(carrier, "UserProperty", None) or []  # None on 3.1.1; unset when none were sent
        values = [v for k, v in pairs if k == key]  # every value, in the order sent
        return values or None

    def keys(self, carrier):
        return list(dict.fromkeys(k for k, _ in getattr(carrier, "UserProperty", None) or []))


class PropertiesSetter(Setter):
    def set(self, carrier, key, value):
        pairs = [(k, v) for k, v in getattr(carrier, "UserProperty", None) or [] if k != key]
        object.__setattr__(carrier, "UserProperty", pairs + [(key, value)])  # plain assignment would append


check_getter_setter(PropertiesGetter(), PropertiesSetter(), exercise="6.1")
