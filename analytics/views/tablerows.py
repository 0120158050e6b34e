"""Table bodies of the list pages as markup, built in Python.

A 25-row table is a few hundred template variable lookups; written here with escape() it costs a
fraction of that, which is what keeps each page within 3x of a trivial page. Every value taken
from data goes through escape(); the rest is constant markup.
"""

from __future__ import annotations

from django.template.defaultfilters import floatformat
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe

from analytics.markup import escape
from analytics.templatetags.analytics_format import cents

DASH = '<span class="muted">—</span>'


def _name(r: dict) -> str:
    return f'<td><a href="{escape(r["url"])}">{escape(r["name"])}</a></td>'


def _score(r: dict, missing: str = DASH) -> str:
    if r["score"] is None:
        return f'<td class="num">{missing}</td>'
    return f'<td class="num"><span class="band band-{escape(r["band"])}">{r["score"]}</span></td>'


def _money(amount, currency: str) -> str:
    return f'<td class="num">{cents(amount)} {escape(currency)}</td>'


def _safe(parts: list[str], empty: str) -> SafeString:
    return mark_safe("".join(parts) if parts else empty)  # noqa: S308 values escaped above


def overview(rows: list[dict]) -> SafeString:
    out = []
    for r in rows:
        change = DASH if r["change"] is None else f"{r['change']:+d}"
        last = r["last_activity"].isoformat() if r["last_activity"] else "—"
        out.append(
            f'<tr>{_name(r)}{_score(r)}<td class="num">{change}</td><td>{r["spark_svg"]}</td>'
            f"{_money(r['mrr_cents'], r['currency'])}<td>{last}</td>"
            f"<td>{escape(r['top_reason'])}</td></tr>"
        )
    return _safe(out, '<tr><td colspan="7" class="muted">No sub-accounts match.</td></tr>')


def at_risk(rows: list[dict]) -> SafeString:
    out = []
    for r in rows:
        reasons = "".join(f"<li>{escape(evidence)}</li>" for _code, evidence in r["flags"][:3])
        out.append(
            f"<tr>{_name(r)}{_score(r, '—')}{_money(r['mrr_cents'], r['currency'])}"
            f'<td class="num">{r["risk_weight"]:.2f}</td>'
            f"{_money(r['mrr_at_risk'], r['currency'])}"
            f'<td><ul class="reasons">{reasons}</ul></td></tr>'
        )
    return _safe(out, '<tr><td colspan="6" class="muted">Nothing flagged.</td></tr>')


def logins(rows: list[dict]) -> SafeString:
    out = [
        f'<tr>{_name(r)}<td class="num">{r["active"]}</td><td class="num">{r["staff"]}</td>'
        f'<td class="num">{r["sessions"]}</td><td class="num">{r["minutes"]}</td></tr>'
        for r in rows
    ]
    return _safe(out, '<tr><td colspan="5" class="muted">No sub-accounts.</td></tr>')


def adoption(rows: list[dict]) -> SafeString:
    out = [f"<tr>{_name(r)}{r['cells_html']}</tr>" for r in rows]
    return _safe(out, '<tr><td colspan="7" class="muted">No sub-accounts match.</td></tr>')


def band_trend(trend) -> SafeString:
    """The numbers behind the band-distribution chart, one row per week."""
    out = [
        f'<tr><td>{d.isoformat()}</td><td class="num">{c.get("thriving", 0)}</td>'
        f'<td class="num">{c.get("healthy", 0)}</td><td class="num">{c.get("steady", 0)}</td>'
        f'<td class="num">{c.get("at_risk", 0)}</td></tr>'
        for d, c in trend
    ]
    return _safe(out, "")


def score_history(history) -> SafeString:
    """Daily scores with each component's contribution (newest first)."""
    out = []
    for h in history:
        parts = ", ".join(f"{escape(k)} {v}" for k, v in h.contributions.items())
        out.append(
            f'<tr><td>{h.day.isoformat()}</td><td class="num">{h.score}</td>'
            f'<td>{escape(h.band)}</td><td class="muted">{parts}</td></tr>'
        )
    return _safe(out, "")


COUNT_COLUMNS = (
    "users_total",
    "workflows_total",
    "workflows_published",
    "calendars_total",
    "products_total",
    "appointments_booked",
    "conversations_created",
)


def weekly_counts(counts: list[dict]) -> SafeString:
    out = []
    for c in counts:
        cells = "".join(
            f'<td class="num">{"—" if c[k] is None else c[k]}</td>' for k in COUNT_COLUMNS
        )
        out.append(f"<tr><td>{c['period_start'].isoformat()}</td>{cells}</tr>")
    return _safe(out, "")


def options(choices, selected: str) -> SafeString:
    """<option>s of a filter <select>, the chosen one selected."""
    out = []
    for v, label in choices:
        mark = " selected" if v == selected else ""
        out.append(f'<option value="{escape(v)}"{mark}>{escape(label)}</option>')
    return _safe(out, "")


def alerts(items) -> SafeString:
    """The overview's alert list items (day as the templates show dates)."""
    return _safe(
        [
            f'<li><span class="muted">{date_format(a.day)}</span> '
            f'<a href="{escape(a.url)}">{escape(a.location_name)}</a>: {escape(a.message)}</li>'
            for a in items
        ],
        "",
    )


def components(rows) -> SafeString:
    """Today's components: (label, value 0-100 or None, contribution or None)."""
    out = []
    for label, value, contrib in rows:
        shown = (
            '<span class="muted">no data (weight shared)</span>'
            if value is None
            else floatformat(value, 1)
        )
        part = "—" if contrib is None else floatformat(contrib, 1)
        out.append(
            f'<tr><td>{escape(label)}</td><td class="num">{shown}</td>'
            f'<td class="num">{part}</td></tr>'
        )
    return _safe(out, "")


def minutes(rows) -> SafeString:
    """Two-column rows of (label, whole number): minutes per feature, people per tier,
    sessions per day."""
    return _safe(
        [f'<tr><td>{escape(f)}</td><td class="num">{int(m)}</td></tr>' for f, m in rows], ""
    )


def users(people: list[dict]) -> SafeString:
    out = []
    for u in people:
        staff = ' <span class="muted">(agency staff)</span>' if u["staff"] else ""
        last = date_format(u["last"]) if u["last"] else "never"
        out.append(
            f"<tr><td>{escape(u['name'])}{staff}</td><td>{escape(u['tier'])}</td>"
            f'<td class="num">{int(u["days30"])}</td><td>{last}</td></tr>'
        )
    return _safe(out, '<tr><td colspan="4" class="muted">No activity recorded.</td></tr>')


def _state_money(c: dict) -> str:
    if c["source"] == "none" or c["mrr"] is None:
        return '<span class="muted">not billed in GHL</span>'
    manual = ' <span class="tag">manual</span>' if c["source"] == "manual" else ""
    return f"{cents(c['mrr'])} {escape(c['currency'])}{manual}"


def subscription(changes: list[dict]) -> SafeString:
    """Subscription and MRR from each change on (newest first)."""
    out = [
        f"<tr><td>{date_format(c['day'])}</td><td>{escape(c['plan'] or '—')}</td>"
        f"<td>{escape(c['status'] or '—')}</td>"
        f'<td class="num">{_state_money(c)}</td></tr>'
        for c in changes
    ]
    return _safe(out, '<tr><td colspan="4" class="muted">No subscription data.</td></tr>')
