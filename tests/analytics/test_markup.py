import pytest
from django.utils.html import escape as django_escape
from django.utils.safestring import mark_safe

from analytics.markup import escape


@pytest.mark.parametrize(
    "value",
    ['<a href="x">O\'Brien & co</a>', "plain", "é ✓ →", 5, 1.5, None, mark_safe("<b>&</b>")],
)
def test_escapes_exactly_as_django_does(value):
    assert escape(value) == str(django_escape(value))
