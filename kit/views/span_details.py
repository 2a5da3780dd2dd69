"""The details under a waterfall: every span's ids, status, attributes, events and links.

In a notebook: one closed HTML ``<details>`` per span, in the waterfall's order; click a
span to open it (no JavaScript, so it also works in a notebook opened untrusted). The
plain-text form lists the same, for a terminal and for nbval. Attribute values are written
as Python writes them (``'text'``, ``21.5``), ``key = value``.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from kit.views.common import ERROR_RED, fmt_attrs, fmt_ms

if TYPE_CHECKING:  # names for the annotations only: traces imports this module (Waterfall.details)
    from kit.views.traces import Row, Waterfall

CELL = "text-align:left;vertical-align:top;padding:1px 10px 1px 0"


def _e(value) -> str:
    return html.escape(str(value), quote=False)


class SpanDetails:
    """The spans of a :class:`~kit.views.traces.Waterfall`, one expandable block each."""

    def __init__(self, waterfall: Waterfall):
        self.waterfall = waterfall

    def _link_where(self, index) -> str:
        if index is None:
            return "not in this picture"
        target = self.waterfall.rows[index].span
        return f"{target['name']} ({target['service']}), in this picture"

    # -- text ----------------------------------------------------------------------

    def _text(self, r: Row) -> list[str]:
        s = r.span
        lines = [f"  {s['service']} · {s['name']} ({s['kind']}) · span {s['span_id']} · status {s['status']}"]
        if s["attributes"]:
            lines.append(f"      attributes: {fmt_attrs(s['attributes'])}")
        for ev in r.events:
            when = "" if ev.in_span_ms is None else f" at +{fmt_ms(ev.in_span_ms)}"
            lines.append(f"      ◆ {ev.name}{when}" + (f": {fmt_attrs(ev.attributes)}" if ev.attributes else ""))
        for trace, span, i in r.links:
            lines.append(f"      ↗ link to trace {trace} span {span}: {self._link_where(i)}")
        return lines

    def __repr__(self) -> str:
        lines = ["span details (attributes · events · links):"]
        for r in self.waterfall.rows:
            lines += self._text(r)
        return "\n".join(lines)

    # -- HTML ----------------------------------------------------------------------

    def _table(self, r: Row) -> str:
        s = r.span
        parent = f"<code>{_e(s['parent_span_id'])}</code>" if isinstance(s["parent_span_id"], str) else "none (a root)"
        rows = [("span", f"<code>{_e(s['span_id'])}</code> of trace <code>{_e(s['trace_id'])}</code>"),
                ("parent", parent),
                ("timing", f"starts at +{fmt_ms(r.start_ms)}, lasts {fmt_ms(s['duration_ms'])}"),
                ("status", _e(s["status"]))]
        attrs = s["attributes"] if isinstance(s["attributes"], dict) else {}
        rows.append(("attributes", "<br/>".join(f"<code>{_e(k)} = {_e(repr(v))}</code>" for k, v in attrs.items())
                     or "none"))
        if r.events:
            rows.append(("events", "<br/>".join(
                f"◆ <b>{_e(ev.name)}</b>" + ("" if ev.in_span_ms is None else f" at +{fmt_ms(ev.in_span_ms)}")
                + "".join(f"<br/>&#160;&#160;&#160;<code>{_e(k)} = {_e(repr(v))}</code>" for k, v in ev.attributes.items())
                for ev in r.events)))
        if r.links:
            rows.append(("links", "<br/>".join(
                f"↗ trace <code>{_e(t)}</code> span <code>{_e(sp)}</code>: {_e(self._link_where(i))}"
                for t, sp, i in r.links)))
        cells = "".join(f'<tr><th style="{CELL}">{k}</th><td style="{CELL}">{v}</td></tr>' for k, v in rows)
        return f'<table style="margin:2px 0 8px 22px;border-collapse:collapse;font-size:12px">{cells}</table>'

    def _block(self, r: Row) -> str:
        s = r.span
        color = self.waterfall.color[s["service"]]
        n_ev, n_ln = len(r.events), len(r.links)
        flags = (f' <b style="color:{ERROR_RED}">✗ ERROR</b>' if r.error else "") + \
                (f" ◆ {n_ev} event{'s' * (n_ev > 1)}" if n_ev else "") + (f" ↗ {n_ln} link{'s' * (n_ln > 1)}" if n_ln else "")
        summary = (f'<span style="color:{color}">●</span> <b>{_e(s["service"])}</b> · {_e(s["name"])} '
                   f'<span style="color:#888">{_e(s["kind"])} · {fmt_ms(s["duration_ms"])}</span>{flags}')
        return (f'<details style="margin-left:{16 * r.depth}px"><summary style="cursor:pointer">{summary}</summary>'
                f'{self._table(r)}</details>')

    def _repr_html_(self) -> str:
        blocks = "".join(self._block(r) for r in self.waterfall.rows)
        return ('<div class="kit-span-details" style="font-family:Helvetica, Arial, sans-serif;font-size:12px">'
                '<div style="color:#666;margin-bottom:2px">Span details: click a span to open its attributes, '
                f'events and links.</div>{blocks}</div>')
