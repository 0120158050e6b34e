"""Alerts fire once per incident (log + email) and send a recovery message when cleared."""

from __future__ import annotations

import logging

import pytest

from gocsm.alerts import clear_alert, is_open, raise_alert


@pytest.fixture
def ops_email(settings):
    settings.OPS_ALERT_EMAIL = "ops@gocsm.example"


def _alert_records(caplog, event):
    return [r for r in caplog.records if getattr(r, "event", None) == event]


def test_an_incident_alerts_once_with_an_error_log_and_an_email(caplog, mailoutbox, ops_email):
    caplog.set_level(logging.INFO, logger="gocsm.alerts")
    assert raise_alert("sync.stale", "CompA", "No successful pull for 3 hours", hours=3)
    assert not raise_alert("sync.stale", "CompA", "No successful pull for 4 hours", hours=4)
    assert not raise_alert("sync.stale", "CompA", "No successful pull for 5 hours", hours=5)
    records = _alert_records(caplog, "sync.stale")
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].alert_key == "CompA"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ops@gocsm.example"]
    assert "sync.stale" in mailoutbox[0].subject
    assert is_open("sync.stale", "CompA")


def test_clearing_sends_one_recovery_message(caplog, mailoutbox, ops_email):
    caplog.set_level(logging.INFO, logger="gocsm.alerts")
    raise_alert("sync.stale", "CompA", "stale")
    assert clear_alert("sync.stale", "CompA", "Pulls succeed again")
    assert not clear_alert("sync.stale", "CompA", "Pulls succeed again")
    recovered = _alert_records(caplog, "sync.stale.recovered")
    assert len(recovered) == 1
    assert [m.subject.split("]")[0] for m in mailoutbox] == ["[GoCSM alert", "[GoCSM recovered"]
    assert not is_open("sync.stale", "CompA")
    # A new incident after recovery alerts again.
    assert raise_alert("sync.stale", "CompA", "stale again")
    assert len(mailoutbox) == 3


def test_incidents_are_separate_per_key(mailoutbox, ops_email):
    assert raise_alert("sync.stale", "CompA", "stale")
    assert raise_alert("sync.stale", "CompB", "stale")
    assert raise_alert("sync.reauth_needed", "CompA", "reauth")
    assert len(mailoutbox) == 3


def test_clearing_an_incident_that_never_opened_says_nothing(mailoutbox, ops_email):
    assert not clear_alert("sync.stale", "CompZ")
    assert mailoutbox == []


def test_a_failed_email_is_retried_on_the_next_check_without_a_second_log(
    caplog, mailoutbox, ops_email, monkeypatch
):
    import gocsm.alerts as alerts

    caplog.set_level(logging.INFO, logger="gocsm.alerts")
    real = alerts.send_mail
    monkeypatch.setattr(alerts, "send_mail", lambda *a, **k: (_ for _ in ()).throw(OSError()))
    assert raise_alert("sync.stale", "CompA", "stale")
    assert mailoutbox == []
    monkeypatch.setattr(alerts, "send_mail", real)
    assert not raise_alert("sync.stale", "CompA", "stale")
    assert len(mailoutbox) == 1
    assert not raise_alert("sync.stale", "CompA", "stale")
    assert len(mailoutbox) == 1
    assert len(_alert_records(caplog, "sync.stale")) == 1


def test_without_an_alert_address_the_log_line_still_alerts(caplog, mailoutbox, settings):
    settings.OPS_ALERT_EMAIL = ""
    caplog.set_level(logging.INFO, logger="gocsm.alerts")
    assert raise_alert("sync.stale", "CompA", "stale")
    assert mailoutbox == []
    assert len(_alert_records(caplog, "sync.stale")) == 1
