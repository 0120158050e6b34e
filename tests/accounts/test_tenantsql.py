"""Prepared tenant reads: scoped to one agency by construction, same rows as the ORM."""

from datetime import date, timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from accounts.models import Location
from accounts.tenantsql import Select, read_together
from analytics.ingest import LocationDayFacts, record_location_day
from analytics.models import LocationDayFact

D = date(2026, 3, 31)
FACTS = Select(
    LocationDayFact,
    ("day", "mrr_cents"),
    where=(("location_ghl_id", "="), ("day", "between")),
    order_by=("-day",),
)


@pytest.fixture
def two_agencies(make_agency):
    a, b = make_agency(), make_agency()
    for agency, cents in ((a, 100), (b, 999)):
        for k in range(5):
            record_location_day(
                agency.pk, "Shared", D - timedelta(days=k), LocationDayFacts(mrr_cents=cents + k)
            )
    return a, b


def test_reads_only_the_agency_asked_for(two_agencies):
    a, b = two_agencies
    rows = FACTS.rows(a.pk, "Shared", D - timedelta(days=2), D)
    assert rows == [(D, 100), (D - timedelta(days=1), 101), (D - timedelta(days=2), 102)]
    assert [c for _d, c in FACTS.rows(b.pk, "Shared", D - timedelta(days=9), D)] == [
        999,
        1000,
        1001,
        1002,
        1003,
    ]


def test_same_rows_as_the_orm(two_agencies):
    a, _b = two_agencies
    orm = list(
        LocationDayFact.objects.for_agency(a.pk)
        .filter(location_ghl_id="Shared", day__range=(D - timedelta(days=9), D))
        .order_by("-day")
        .values_list("day", "mrr_cents")
    )
    assert FACTS.rows(a.pk, "Shared", D - timedelta(days=9), D) == orm


def test_reads_together_in_order_and_are_counted(two_agencies):
    a, _b = two_agencies
    with CaptureQueriesContext(connections["analytics"]) as queries:
        first, second = read_together(
            a.pk,
            (FACTS, ("Shared", D, D)),
            (FACTS, ("Shared", D - timedelta(days=1), D - timedelta(days=1))),
        )
    assert first == [(D, 100)] and second == [(D - timedelta(days=1), 101)]
    assert len(queries.captured_queries) >= 2


def test_refuses_what_is_not_an_agency_key_or_not_tenant_data(two_agencies):
    with pytest.raises(TypeError):
        FACTS.rows("1 OR 1=1", "Shared", D, D)
    with pytest.raises(TypeError):
        FACTS.rows(True, "Shared", D, D)
    from accounts.models import Agency

    with pytest.raises(TypeError):
        Select(Agency, ("name",))
    with pytest.raises(KeyError):
        Select(Location, ("name; DROP TABLE x",))


def test_values_read_as_the_orm_gives_them(make_agency):
    """Datetimes, booleans and JSON come back as the ORM's model fields give them, on every
    database Django supports (SQLite's driver returns naive datetimes and 0/1 on its own; the
    embedded defaults of `make run` run on it)."""
    from django.utils import timezone

    from sync.models import SyncRun

    agency = make_agency()
    run = SyncRun.objects.create(
        agency=agency,
        status=SyncRun.STATUS_OK,
        finished_at=timezone.now(),
        detail={"pages": [1, 2], "note": "é"},
        first_day=D,
    )
    columns = ("requested_at", "finished_at", "detail", "first_day", "last_day")
    read = Select(SyncRun, columns, where=(("status", "!="),), limit=1)
    (row,) = read.rows(agency.pk, SyncRun.STATUS_QUEUED)
    assert row == tuple(
        getattr(SyncRun.objects.for_agency(agency).get(pk=run.pk), c) for c in columns
    )
    assert timezone.is_aware(row[0]) and row[2] == {"pages": [1, 2], "note": "é"}
    flags = Select(Location, ("is_installed",), where=(("ghl_id", "="),))
    Location.objects.create(agency=agency, ghl_id="L1", name="One", is_installed=True)
    assert flags.rows(agency.pk, "L1") == [(True,)]
    assert Select(SyncRun, ("detail",), json_as_text=True).rows(agency.pk)[0][0].startswith("{")
