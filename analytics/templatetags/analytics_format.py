from django import template

register = template.Library()


@register.filter
def cents(value) -> str:
    """12345 -> '123.45' with thousands separators; None -> '—'."""
    if value is None or value == "":
        return "—"
    return f"{int(value) / 100:,.2f}"
