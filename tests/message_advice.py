"""Does a ✗ message tell the learner to write code their attempt already contains?

    >>> already_written("✗ … Try span.set_attribute('sensor.id', 's-1') inside the block.",
    ...                 'span.set_attribute("sensor.id", "s-1")')
    ["span.set_attribute('sensor.id', 's-1')"]

A message names a fix as code: a call (``span.record_exception(exc)``), a keyword
(``context=ctx``, ``retain=True``) or a statement in backticks, after a verb that asks for
it ("call", "use", "pass", "add", "start it with", …). When the attempt already holds that
code (spaces and quote marks aside), the message sends the learner to fix what is not
broken. Code a message only quotes to describe the mistake ("`props.UserProperty = [...]`
APPENDS in paho") follows no such verb and is not advice, nor is a block it points at
("inside the `with ... 'hello'` block").
"""

from __future__ import annotations

import re

VERBS = ("call ", "calls ", "use ", "pass ", "add ", "try ", "start it with ", "start the span with ", "give it ",
         "give instrument() ", "give the ", "write ", "publish with ", "put ", "log it with ", "log with ",
         "replace them instead: ", "replace: ", "instead: ", "e.g. ", "read it from the extracted context, ",
         "inject with ", "then ", "set ", "wrap it: ", "subscribe(", "publish(")
CALL = re.compile(r"[A-Za-z_][\w.]*\((?:[^()]|\([^()]*\))*\)(?:\.[\w.]+\((?:[^()]|\([^()]*\))*\))*")
KEYWORD = re.compile(r"\b[a-z_]+=(?:[A-Za-z_][\w.]*(?:\([^()]*\))?|\d+(?:_\d+)*|'[^']*'|\"[^\"]*\")")
TICKS = re.compile(r"`([^`]+)`")


def _squeeze(code: str) -> str:
    return "".join(code.split()).replace("'", '"')


def suggestions(message: str) -> list[str]:
    """The code a ✗ message asks the learner to write."""
    out, calls = [], [m.span() for m in CALL.finditer(message)]
    for pattern in (TICKS, CALL, KEYWORD):
        for match in pattern.finditer(message):
            if pattern is KEYWORD and any(a <= match.start() < b for a, b in calls):
                continue  # part of a call: the call is the advice
            fragment = match.group(1) if pattern is TICKS else match.group(0)
            if fragment.startswith(("with ...", "with …")):
                continue  # names a block of the attempt ("the `with ... 'x'` block"), asks for no new code
            before = message[max(0, match.start() - 40):match.start()].lower()
            sentence = re.split(r"[.!?]\s", before)[-1]
            if any(sentence.endswith(v) or f" {v}" in sentence[-len(v) - 12:] for v in VERBS):
                out.append(fragment)
    return list(dict.fromkeys(out))


def _present(fragment: str, attempt: str) -> bool:
    pieces = [p for p in re.split(r"\.\.\.|…", _squeeze(fragment)) if len(p) > 3]
    if not pieces:
        return False
    code = _squeeze(attempt)
    at = 0
    for piece in pieces:
        at = code.find(piece, at)
        if at < 0:
            return False
        at += len(piece)
    return True


def already_written(message: str, attempt: str) -> list[str]:
    """The suggestions of ``message`` that ``attempt`` already contains."""
    return [s for s in suggestions(message) if _present(s, attempt)]
