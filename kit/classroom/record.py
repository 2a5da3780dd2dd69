"""What one self-check sends to the class board, in one place: both sides read it here.

Each judged check becomes one OpenTelemetry **log record** (and the span it was written in,
so the record carries trace context), exported over OTLP/HTTP to the board:

    body        "self-check 4.2 ✗"            (no text of the check, nor of the learner's code)
    attributes  kit.learner.name   "ada"        the pseudonym given to join()
                kit.lesson.number  4
                kit.lesson.elapsed_s 1260      seconds since the lesson (this kernel) started
                kit.exercise.id    "4.2"
                kit.check.verdict  "fail"       or "pass"
                kit.check.attempt  3            this kernel's third check of 4.2
                kit.check.reason   "baggage-value"   which ✗ (a code of kit.checks; "" for ✓)
    resource    service.name       "kit-classroom"   (nothing else: no host, no user, no versions)

Joining sends one record with only ``kit.learner.name`` (body ``"joined"``), so the learner
shows on the board before a first check.

Every request carries the room code in the header ``x-kit-room``, as
``OTEL_EXPORTER_OTLP_HEADERS=x-kit-room=K7QX2M`` would: the board refuses any request
without it.

Before Jupyter starts, ``KIT_CLASSROOM`` joins every kernel: the board's address, then
``room=`` and ``name=``, separated by commas (values may be %-escaped, as in
``OTEL_EXPORTER_OTLP_HEADERS``):

    KIT_CLASSROOM=http://10.0.0.5:4318,room=K7QX2M,name=ada jupyter lab
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

HEADER = "x-kit-room"
ENVIRONMENT = "KIT_CLASSROOM"
SERVICE = "kit-classroom"

LEARNER = "kit.learner.name"
LESSON = "kit.lesson.number"
ELAPSED = "kit.lesson.elapsed_s"
EXERCISE = "kit.exercise.id"
VERDICT = "kit.check.verdict"
ATTEMPT = "kit.check.attempt"
REASON = "kit.check.reason"
PASS, FAIL = "pass", "fail"

EXERCISE_ID = re.compile(r"\d{1,2}\.\d{1,2}")
REASON_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,47}")
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no I, O, 0, 1: read off a projector, typed right
ROOM_CODE = re.compile(r"[A-Z0-9]{4,16}")
MAX_NAME = 40


def new_code(length: int = 6) -> str:
    """A room code: ``length`` letters and digits that cannot be misread (about 30 bits for 6)."""
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(length))


def room_code(text) -> str:
    """The room code as the board compares it (upper case); ValueError if it cannot be one."""
    code = str(text).strip().upper()
    if not ROOM_CODE.fullmatch(code):
        raise ValueError(f"a room code is 4 to 16 letters and digits, not {text!r}")
    return code


def pseudonym(text) -> str:
    """A name as the board shows it: printable, spaces collapsed, at most MAX_NAME characters."""
    name = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return name[:MAX_NAME]


def endpoint(text) -> str:
    """The board's address, ``http(s)://host:port`` (a path is kept: a collector may sit behind one)."""
    url = str(text).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the board's address is like http://10.0.0.5:4318, not {text!r}")
    return url


@dataclass(frozen=True)
class Invitation:
    """What joining needs: the board's address, the room code and a pseudonym."""

    endpoint: str
    room: str
    name: str

    def environment(self) -> str:
        """The ``KIT_CLASSROOM`` value that joins every kernel."""
        return f"{self.endpoint},room={self.room},name={self.name.replace(',', '%2C').replace(' ', '%20')}"


def parse(value: str) -> Invitation:
    """``KIT_CLASSROOM``'s value → an Invitation; ValueError saying what is wrong."""
    address, settings = None, {}
    for item in str(value).split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, rest = item.partition("=")
        if eq and key.strip().lower() in ("room", "name"):
            settings[key.strip().lower()] = unquote(rest)
        elif address is None and not eq:
            address = item
        else:
            raise ValueError(f"{ENVIRONMENT}: {item!r} is neither the board's address nor room=… or name=…")
    if address is None or "room" not in settings:
        raise ValueError(f"{ENVIRONMENT} is like http://10.0.0.5:4318,room=K7QX2M,name=ada (got {value!r})")
    return Invitation(endpoint(address), room_code(settings["room"]), pseudonym(settings.get("name", "")))
