"""Build a valid row of any model generically, planting secrets in its sensitive fields.

Used by the admin secret sweep and the purge test so that models added later by other apps are
covered without editing those tests. A model the generic builder cannot satisfy gets an entry in
BUILDERS (model label -> callable(agency, marker) -> instance).
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import secrets
import uuid

from django.contrib.auth.hashers import make_password
from django.db import models, router
from django.utils import timezone

from accounts.models import Agency
from gocsm.adminsafe import is_sensitive, is_stripe_id

_counter = itertools.count(1)
BUILDERS: dict = {}


class Planted:
    """Every secret planted so far, to search rendered pages for."""

    def __init__(self):
        self.secrets: set[str] = set()
        self.stripe_ids: set[str] = set()

    def secret(self, max_length: int | None) -> str:
        value = secrets.token_hex(20)
        if max_length:
            value = value[: max(8, min(len(value), max_length))]
        self.secrets.add(value)
        return value

    def stripe_id(self, max_length: int | None) -> str:
        value = f"cus_PLANTED{secrets.token_hex(8)}WXYZ"
        if max_length:
            value = value[-max_length:]
        self.stripe_ids.add(value)
        return value


def _agency_field(field) -> bool:
    return field.attname == "agency_id" or (field.is_relation and field.related_model is Agency)


def _value(field, agency, planted: Planted, depth: int):
    n = next(_counter)
    name = field.name
    if _agency_field(field):
        return agency if field.is_relation else agency.pk
    if field.is_relation:
        return build(field.related_model, agency, planted, depth + 1)
    if is_sensitive(name) and isinstance(field, (models.CharField, models.TextField)):
        return planted.secret(getattr(field, "max_length", None))
    if is_sensitive(name) and isinstance(field, models.BinaryField):
        return planted.secret(None).encode()
    if is_stripe_id(name) and isinstance(field, (models.CharField, models.TextField)):
        return planted.stripe_id(field.max_length)
    if field.choices:
        return field.choices[0][0]
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate() - dt.timedelta(days=n % 300)
    if isinstance(field, models.DurationField):
        return dt.timedelta(seconds=n)
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(n % 1000)
    if isinstance(field, models.FloatField):
        return float(n)
    if isinstance(field, models.IntegerField):
        return n
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.GenericIPAddressField):
        return "192.0.2.1"
    if isinstance(field, models.EmailField):
        return f"person{n}@example.com"
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b"x"
    if isinstance(field, (models.CharField, models.TextField)):
        max_length = getattr(field, "max_length", None) or 40
        return f"{name[:8]}{n}"[:max_length]
    raise NotImplementedError(f"no generic value for {field.model.__name__}.{name}")


def build(model, agency, planted: Planted, depth: int = 0):
    """Create and save one row of `model` for `agency` on the model's own database."""
    if depth > 4:
        raise RecursionError(f"relations too deep building {model._meta.label}")
    if model._meta.label in BUILDERS:
        return BUILDERS[model._meta.label](agency, planted)
    if model is Agency:
        return agency
    kwargs = {}
    for field in model._meta.concrete_fields:
        if field.primary_key and (field.auto_created or isinstance(field, models.AutoField)):
            continue
        if isinstance(field, models.AutoField):
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        if getattr(field, "generated", False):
            continue
        value = _value(field, agency, planted, depth)
        kwargs[field.name] = value
    obj = model(**kwargs)
    obj.save(using=router.db_for_write(model))
    return obj


def _user_builder(agency, planted):
    from django.contrib.auth.models import User

    n = next(_counter)
    user = User(username=f"staff{n}", email=f"staff{n}@gocsm.example", is_staff=True)
    # The stored value is what would leak; plant a recognisable one where the hash would be.
    secret = planted.secret(None)
    user.password = make_password(secret)
    planted.secrets.add(user.password.split("$")[-1])
    user.save()
    return user


BUILDERS["auth.User"] = _user_builder
