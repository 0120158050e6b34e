"""After a full read of an agency, no end-customer value is anywhere in our stores or logs."""

from __future__ import annotations

import copy
import io
import logging
import logging.config

import pytest
from django.conf import settings
from django.db import connections

from tests.sync.full_read import read_everything


def _database_text() -> str:
    chunks = []
    for alias in connections:
        conn = connections[alias]
        with conn.cursor() as cursor:
            for table in conn.introspection.table_names(cursor):
                cursor.execute(f"SELECT * FROM {conn.ops.quote_name(table)}")
                chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def _cache_text() -> str:
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        redis = get_redis_connection("default")
        chunks = []
        for key in redis.scan_iter(count=1000):
            kind = redis.type(key).decode()
            value = {
                "string": lambda k: redis.get(k),
                "hash": lambda k: redis.hgetall(k),
                "list": lambda k: redis.lrange(k, 0, -1),
                "set": lambda k: redis.smembers(k),
                "zset": lambda k: redis.zrange(k, 0, -1),
            }.get(kind, lambda k: b"")(key)
            chunks.append(f"{key!r} {value!r}")
        return "\n".join(chunks)
    from django.core.cache import cache

    return repr(dict(getattr(cache, "_cache", {})))


@pytest.mark.django_db(transaction=True)
def test_full_read_keeps_no_end_customer_data(installed, fake_ghl):
    made = read_everything(installed, fake_ghl)
    assert made > 50
    values = fake_ghl.customer_values
    emails = {v for v in values if "@" in v}
    phones = {v for v in values if v.startswith("+1555")}
    bodies = {v for v in values if "(ref " in v}
    # The fake really served contact data of every kind.
    assert emails
    assert phones
    assert bodies
    # Sub-account business contacts (owner email/phone) are not ours to keep either.
    cid = installed.company_id
    values |= {loc.email for loc in fake_ghl.world.locations(cid, fake_ghl.today())}
    values |= {loc.phone for loc in fake_ghl.world.locations(cid, fake_ghl.today())}
    stores = _database_text() + "\n" + _cache_text()
    assert "BrightPath" in stores  # the search does see our own data
    leaked = sorted(v for v in values if v in stores)
    assert leaked == []


@pytest.mark.django_db(transaction=True)
def test_no_token_in_any_log_line(client, fake_ghl, settings):
    from sync.credentials import client_for_agency
    from sync.ghl.errors import AuthRevoked
    from tests.sync.conftest import follow_install

    stream = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["stream"] = stream
    config["root"]["level"] = "DEBUG"
    config["loggers"]["django"]["level"] = "DEBUG"
    logging.config.dictConfig(config)
    try:
        follow_install(client, fake_ghl)
        from accounts.models import Agency

        agency = Agency.objects.get(company_id=fake_ghl.company_ids[0])
        fake_ghl.expire_access_tokens()
        read_everything(agency, fake_ghl)  # includes a 401 -> refresh and location tokens
        fake_ghl.add_fault("5xx", count=1, path="/companies")
        client_for_agency(agency).company()
        fake_ghl.revoke(agency.company_id)
        fake_ghl.expire_access_tokens()
        with pytest.raises(AuthRevoked):
            client_for_agency(agency).company()
    finally:
        logging.config.dictConfig(settings.LOGGING)
    output = stream.getvalue()
    assert "ghl token refreshed" in output  # the log really was captured
    secrets_seen = set(fake_ghl.state.access) | set(fake_ghl.state.refresh)
    assert len(secrets_seen) > 3
    leaked = [t for t in secrets_seen if t in output or t[-20:] in output]
    assert leaked == []
