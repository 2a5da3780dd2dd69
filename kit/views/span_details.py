"""The details of a waterfall's spans: ids, status (and its message), attributes, events,
links (and their attributes), the process (the resource's attributes the app set: those the
SDK sets on every span, ``telemetry.sdk.*`` and ``service.instance.id``, are left to the
DataFrame's ``resource`` column), the trace state and dropped counts when there are any.

In a notebook each row of the waterfall opens onto its span's details (click it: plain
HTML ``<details>``, no JavaScript); the receiver's page lists them under its picture,
one closed ``<details>`` per span (:meth:`SpanDetails._repr_html_`). The plain-text form
lists the same, for a terminal and for nbval. Attribute values are written as Python
writes them (``'text'``, ``21.5``), ``key = value``; a value longer than
:data:`SHOWN` characters is cut, and the whole of it (up to :data:`WHOLE` characters) is
one more click away.
"""

from __future__ import annotations

import html
import numbers
from typing import TYPE_CHECKING

from kit.views.common import DIM, ERROR_RED, fmt_attrs, fmt_ms, repr_of
from kit.views.values import clip, items, mapping, text

if TYPE_CHECKING:  # names for the annotations only: traces imports this module (Waterfall.details)
    from kit.views.traces import Row, Waterfall

CELL = "text-align:left;vertical-align:top;padding:1px 10px 1px 0"
SHOWN = 200         # characters of a value shown in the table
WHOLE = 100_000     # characters of a value behind its "show all" (more: read it from the DataFrame)


DROPPED = ("dropped_attributes_count", "dropped_events_count", "dropped_links_count")
# the resource attributes every span of a kernel has, that the SDK (or kit.telemetry.setup) sets:
# not repeated under each span (the DataFrame's resource column and the receiver's page have them)
SDK_RESOURCE = {"service.name", "service.instance.id", "telemetry.sdk.language", "telemetry.sdk.name",
                "telemetry.sdk.version", "telemetry.auto.version", "telemetry.distro.name", "telemetry.distro.version"}


def status_message(row: dict) -> str:
    """A span's status message as text ("" when it has none: an older row or none sent)."""
    message = row.get("status_message")
    return text(message) if message is not None and message == message else ""


def _e(value) -> str:
    return html.escape(text(value), quote=True)


def value_html(value, expandable: bool = True, key: str | None = None) -> str:
    """``key = value`` (the value as Python writes it) in one ``<code>``, cut at :data:`SHOWN`
    characters with the rest a click away (``expandable``) or counted."""
    whole = value if isinstance(value, str) else repr_of(value)
    full = repr(value) if isinstance(value, str) and len(value) <= WHOLE else whole
    prefix = "" if key is None else f"{_e(clip(key, SHOWN))} = "
    if len(full) <= SHOWN:
        return f"<code>{prefix}{_e(full)}</code>"
    if not expandable:
        return f"<code>{prefix}{_e(clip(full, SHOWN))}</code> <span style=\"color:{DIM}\">({len(whole):,} characters)</span>"
    rest = (f"the first {WHOLE:,} of {len(value):,} characters; the whole value is in the DataFrame"
            if isinstance(value, str) and len(value) > WHOLE else f"all {len(full):,} characters")
    body = html.escape(full[:WHOLE].encode("utf-8", "replace").decode("utf-8"), quote=True)
    return (f"<code>{prefix}{_e(clip(full, SHOWN))}</code> <details style=\"display:inline\"><summary "
            f"style=\"cursor:pointer;color:{DIM}\">{rest}</summary><div style=\"white-space:pre-wrap;"
            f"overflow-wrap:anywhere;max-height:240px;overflow:auto;font-family:monospace\">{body}</div></details>")


class SpanDetails:
    """The spans of a :class:`~kit.views.traces.Waterfall`, one expandable block each."""

    def __init__(self, waterfall: Waterfall):
        self.waterfall = waterfall

    def _link_where(self, index) -> str:
        if index is None:
            return "not in this picture"
        target = self.waterfall.rows[index].span
        return f"{clip(target.name, 80)} ({clip(target.service, 40)}), in this picture"

    # -- text ----------------------------------------------------------------------

    def _text(self, r: Row) -> list[str]:
        s = r.span
        message = status_message(s.raw)
        lines = [f"  {clip(s.service, 40)} · {clip(s.name, 80)} ({clip(s.kind, 20)}) · span {clip(s.span_id, 40)} "
                 f"· status {clip(s.status, 20)}" + (f": {clip(message, 120)}" if message else "")]
        if s.attributes:
            lines.append(f"      attributes: {fmt_attrs(s.attributes)}")
        for ev in r.events:
            when = "" if ev.in_span_ms is None else f" at +{fmt_ms(ev.in_span_ms)}"
            lines.append(f"      ◆ {clip(ev.name, 80)}{when}" + (f": {fmt_attrs(ev.attributes)}" if ev.attributes else ""))
        for trace, span, i in r.links:
            lines.append(f"      ↗ link to trace {clip(trace, 40)} span {clip(span, 40)}: {self._link_where(i)}")
        return lines

    def __repr__(self) -> str:
        lines = ["span details (attributes · events · links):"]
        for r in self.waterfall.rows:
            lines += self._text(r)
        return "\n".join(lines)

    # -- HTML ----------------------------------------------------------------------

    def table(self, r: Row, expandable: bool = True) -> str:
        """One span's details as an HTML table (long values one more click away when ``expandable``)."""
        s = r.span
        parent = f"<code>{_e(s.parent_span_id)}</code>" if s.parent_span_id is not None else "none (a root)"
        timing = ("start time unknown" if r.start_ms is None
                  else f"starts at +{fmt_ms(r.start_ms)}") + f", lasts {fmt_ms(r.duration_ms)}"
        name, service = s.raw.get("name", s.name), s.raw.get("service", s.service)   # whole, as sent

        def value(v, key=None):
            return value_html(v, expandable, key)

        rows = [("span", f"{value(name)} · {_e(clip(s.kind, 40))} · service {value(service)}"),
                ("ids", f"span <code>{_e(clip(s.span_id, 64))}</code> of trace <code>{_e(clip(s.trace_id, 64))}</code>"),
                ("parent", parent),
                ("timing", timing),
                ("status", (f'<b style="color:{ERROR_RED}">✗ ERROR</b>' if r.error else _e(clip(s.status, 40)))
                 + (f": {value(status_message(s.raw))}" if status_message(s.raw) else ""))]
        rows.append(("attributes", "<br/>".join(value(v, k)
                                                for k, v in s.attributes.items()) or "none"))
        if r.events:
            rows.append(("events", "<br/>".join(
                f"◆ <b>{_e(clip(ev.name, SHOWN))}</b>" + ("" if ev.in_span_ms is None else f" at +{fmt_ms(ev.in_span_ms)}")
                + "".join(f"<br/>&#160;&#160;&#160;{value(v, k)}"
                          for k, v in ev.attributes.items())
                for ev in r.events)))
        if r.links:
            sent = items(s.raw.get("links"))
            rows.append(("links", "<br/>".join(
                f"↗ trace <code>{_e(clip(t, 64))}</code> span <code>{_e(clip(sp, 64))}</code>: {_e(self._link_where(i))}"
                + "".join(f"<br/>&#160;&#160;&#160;{value(v, k)}"
                          for k, v in (mapping(getattr(sent[n], "attributes", None)) if n < len(sent) else {}).items())
                for n, (t, sp, i) in enumerate(r.links))))
        process = {k: v for k, v in mapping(s.raw.get("resource")).items() if k not in SDK_RESOURCE}
        if process:
            rows.append(("process", "<br/>".join(value(v, k) for k, v in process.items())))
        trace_state = s.raw.get("trace_state")
        if isinstance(trace_state, str) and trace_state:   # (a frame without the column has NaN here)
            rows.append(("trace state", value(trace_state)))
        dropped = {k: int(s.raw[k]) for k in DROPPED
                   if isinstance(s.raw.get(k), numbers.Integral) and not isinstance(s.raw[k], bool) and s.raw[k] > 0}
        if dropped:
            rows.append(("dropped", _e(", ".join(f"{k.removeprefix('dropped_').replace('_count', '')}: {v}"
                                                 for k, v in dropped.items()))))
        cells = "".join(f'<tr><th style="{CELL};color:{DIM};font-weight:normal">{k}</th>'
                        f'<td style="{CELL};overflow-wrap:anywhere">{v}</td></tr>' for k, v in rows)
        return (f'<div style="padding:2px 0 8px 22px"><table style="border-collapse:collapse;font-size:12px;'
                f'table-layout:fixed;width:100%"><colgroup><col style="width:76px"/><col/></colgroup>'
                f"{cells}</table></div>")

    def _block(self, r: Row) -> str:
        s = r.span
        color = self.waterfall.color[s.service]
        n_ev, n_ln = len(r.events), len(r.links)
        flags = (f' <b style="color:{ERROR_RED}">✗ ERROR</b>' if r.error else "") + \
                (f" ◆ {n_ev} event{'s' * (n_ev > 1)}" if n_ev else "") + (f" ↗ {n_ln} link{'s' * (n_ln > 1)}" if n_ln else "")
        summary = (f'<span style="display:inline-block;width:8px;height:8px;border-radius:4px;'
                   f'background:{color}"></span> <b>{_e(clip(s.service, 80))}</b> · {_e(clip(s.name, 120))} '
                   f'<span style="color:{DIM}">{_e(clip(s.kind, 20))} · {fmt_ms(r.duration_ms)}</span>{flags}')
        return (f'<details style="margin-left:{16 * min(r.depth, 12)}px"><summary style="cursor:pointer">{summary}'
                f'</summary>{self.table(r, expandable=False)}</details>')   # one <details> per span: the page counts them

    def _repr_html_(self) -> str:
        blocks = "".join(self._block(r) for r in self.waterfall.rows)
        return ('<div class="kit-span-details tex2jax_ignore mathjax_ignore" style="font-family:Helvetica, Arial, '
                f'sans-serif;font-size:12px;color:#222222;overflow-wrap:anywhere"><div style="color:{DIM};'
                f'margin-bottom:2px">Span details: click a span to open its attributes, events and links.</div>'
                f"{blocks}</div>")
