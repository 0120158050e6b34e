from django import template

register = template.Library()


@register.filter
def cents(value) -> str:
    """12345 -> '123.45' with thousands separators; None -> '—'."""
    if value is None or value == "":
        return "—"
    return f"{int(value) / 100:,.2f}"


@register.filter
def duration(minutes) -> str:
    """Minutes as hours and minutes: 73_925 -> '1,232 h 05 min', 45 -> '45 min'; None -> '—'."""
    if minutes is None or minutes == "":
        return "—"
    hours, rest = divmod(int(minutes), 60)
    return f"{hours:,} h {rest:02d} min" if hours else f"{rest} min"
