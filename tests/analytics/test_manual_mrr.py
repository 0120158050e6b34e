"""Manual MRR for sub-accounts billed outside GHL: entered by hand or uploaded as CSV, checked,
audited, used in every figure and marked manual; nothing changes on bad input."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditEvent, Location
from analytics.agencyclock import agency_today
from analytics.ingest import LocationDayFacts, record_location_day
from analytics.models import LocationState, ManualMRR, PortfolioState
from analytics.pipeline import refresh_agency_days


@pytest.fixture
def setup(personas, eager_celery):
    agency = personas["agency_a"]
    today = agency_today(agency)
    for ghl_id, name in (("L1", "Alpha Dental"), ("L2", "Beta Roofing")):
        Location.objects.create(agency=agency, ghl_id=ghl_id, name=name)
        record_location_day(
            agency.pk,
            ghl_id,
            today - timedelta(days=10),
            LocationDayFacts(users_total=2, subscription_status="none", mrr_cents=0),
        )
    refresh_agency_days(agency.pk, today - timedelta(days=10), today)
    Location.objects.create(agency=personas["agency_b"], ghl_id="B1", name="Other agency's")
    return personas


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_owner_enters_mrr_and_every_figure_uses_it_marked_manual(setup, login, client):
    login(setup["owner_a"])
    url = reverse("analytics:location-manual-mrr", args=["L1"])
    response = client.post(url, {"mrr": "1,250.50", "currency": "eur", "since": ""})
    assert response.status_code == 302
    entry = ManualMRR.objects.for_agency(setup["agency_a"].pk).get()
    assert (entry.location_ghl_id, entry.mrr_cents, entry.currency, entry.since) == (
        "L1",
        125050,
        "EUR",
        None,
    )
    state = LocationState.objects.for_agency(setup["agency_a"].pk).get(location_ghl_id="L1")
    assert (state.mrr_cents, state.currency, state.mrr_source) == (125050, "EUR", "manual")
    assert PortfolioState.objects.for_agency(setup["agency_a"].pk).get().mrr_totals == {
        "EUR": 125050
    }
    event = AuditEvent.objects.get(action="analytics.manual_mrr_set")
    assert event.target == "L1" and event.detail["mrr_cents"] == 125050
    page = client.get(reverse("analytics:location-detail", args=["L1"])).content.decode()
    assert "manual" in page and "1,250.50" in page


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"mrr": "-5", "currency": "USD"}, "zero or more"),
        ({"mrr": "12.345", "currency": "USD"}, "two decimals"),
        ({"mrr": "lots", "currency": "USD"}, "a number"),
        ({"mrr": "100", "currency": "US"}, "three-letter"),
        ({"mrr": "100", "currency": "USD", "since": "2999-01-01"}, "future"),
        ({"mrr": "100", "currency": "USD", "since": "yesterday"}, "date"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(setup, login, client, data, says):
    login(setup["owner_a"])
    response = client.post(reverse("analytics:location-manual-mrr", args=["L1"]), data)
    assert response.status_code == 302
    assert any(says in m for m in _messages(response)), _messages(response)
    assert not ManualMRR.objects.for_agency(setup["agency_a"].pk).exists()
    assert not AuditEvent.objects.filter(action="analytics.manual_mrr_set").exists()


def test_agency_user_cannot_enter_mrr(setup, login, client):
    login(setup["user_a"])
    response = client.post(
        reverse("analytics:location-manual-mrr", args=["L1"]), {"mrr": "10", "currency": "USD"}
    )
    assert response.status_code == 403
    assert not ManualMRR.objects.for_agency(setup["agency_a"].pk).exists()


def test_another_agencys_sub_account_is_a_404_and_nothing_changes(setup, login, client):
    login(setup["owner_a"])
    response = client.post(
        reverse("analytics:location-manual-mrr", args=["B1"]), {"mrr": "10", "currency": "USD"}
    )
    assert response.status_code == 404
    assert not ManualMRR.objects.all_agencies().exists()


def _upload(client, text: str):
    return client.post(
        reverse("analytics:manual-mrr-upload"),
        {"file": SimpleUploadedFile("mrr.csv", text.encode(), content_type="text/csv")},
    )


def test_csv_upload_sets_every_row(setup, login, client):
    login(setup["owner_a"])
    response = _upload(client, "sub_account_id,mrr,currency,since\nL1,500,USD,\nL2,99.90,EUR,\n")
    assert response.status_code == 302
    saved = dict(
        ManualMRR.objects.for_agency(setup["agency_a"].pk).values_list(
            "location_ghl_id", "mrr_cents"
        )
    )
    assert saved == {"L1": 50000, "L2": 9990}
    assert AuditEvent.objects.filter(action="analytics.manual_mrr_set").count() == 2


@pytest.mark.parametrize(
    "text",
    [
        "sub_account_id,mrr,currency\nL1,500,USD\nB1,10,USD\n",  # another agency's sub-account
        "sub_account_id,mrr,currency\nL1,500,USD\nL2,-1,USD\n",
        "id,amount\nL1,500\n",
        "sub_account_id,mrr,currency\n",
    ],
)
def test_a_csv_with_any_bad_row_saves_nothing(setup, login, client, text):
    login(setup["owner_a"])
    response = _upload(client, text)
    assert response.status_code == 302
    assert _messages(response) and not ManualMRR.objects.all_agencies().exists()


def test_a_later_entry_replaces_those_from_its_day_on(setup):
    from analytics import manualmrr

    agency = setup["agency_a"]
    today = agency_today(agency)
    first = manualmrr.Entry("L1", 10000, "USD", today - timedelta(days=5))
    second = manualmrr.Entry("L1", 20000, "USD", today - timedelta(days=8))
    manualmrr.save_entries(agency, [first], user=setup["owner_a"], via="form")
    manualmrr.save_entries(agency, [second], user=setup["owner_a"], via="form")
    assert list(ManualMRR.objects.for_agency(agency.pk).values_list("since", "mrr_cents")) == [
        (today - timedelta(days=8), 20000)
    ]
