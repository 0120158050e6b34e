"""The playbook pages: ready-made plays on in one click, write-only webhook URLs (masked
everywhere, never in pages or admin), the signing secret shown once, bad input refused with no
change, tenants apart, tasks on the sub-account page and the Tasks page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import AuditEvent
from analytics.playbooks.models import Play, Task
from tests.playbooks.conftest import DAY, QUIET, make_play, set_state


@pytest.fixture
def owner(world, receivers, login, client, eager_celery_on):
    login(world["owner_a"])
    return client


@pytest.fixture
def eager_celery_on():
    from gocsm.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = old


def test_ready_made_play_switches_on_in_one_click_and_shows_its_secret_once(
    world, owner, receivers
):
    ghl = receivers["ghl"]
    url = ghl.add_inbound_webhook("Loc0")
    page = owner.get(reverse("playbooks:index"))
    assert page.status_code == 200 and b"Gone quiet 14 days" in page.content
    r = owner.post(
        reverse("playbooks:switch-on-ready", args=["quiet_14"]), {"ghl_webhook_url": url}
    )
    assert r.status_code == 200
    play = Play.objects.for_agency(world["agency_a"]).get()
    assert play.enabled and play.trigger == "no_login_14" and play.task_on
    secret = r.content.decode().split('<code class="secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    # Stored encrypted, never in plain text.
    assert url not in play.ghl_webhook_secret_url and secret not in play.signing_secret
    trigger_id = url.rsplit("/", 1)[1]
    for name, args in (
        ("playbooks:index", []),
        ("playbooks:detail", [play.pk]),
        ("playbooks:edit", [play.pk]),
    ):
        html = owner.get(reverse(name, args=args)).content.decode()
        assert trigger_id not in html and secret not in html, name
    assert (
        "http://127.0.0.1"
        in owner.get(reverse("playbooks:detail", args=[play.pk])).content.decode()
    )
    event = AuditEvent.objects.get(action="playbooks.play_switched_on")
    assert trigger_id not in str(event.detail) and secret not in str(event.detail)
    # The ready-made play is no longer offered; a new secret replaces the old one.
    assert b"Gone quiet 14 days</h3>" not in owner.get(reverse("playbooks:index")).content
    r = owner.post(reverse("playbooks:rotate-secret", args=[play.pk]))
    new = r.content.decode().split('<code class="secret">')[1].split("<")[0]
    assert new != secret


def test_a_private_url_is_refused_with_no_change(world, owner, settings):
    settings.PLAYBOOKS_LOCAL_RECEIVERS = []
    for url in (
        "https://127.0.0.1/hooks/x",
        "http://hooks.example.com/x",
        "https://169.254.169.254/",
    ):
        r = owner.post(
            reverse("playbooks:switch-on-ready", args=["payment_failed"]),
            {"slack_webhook_url": url},
        )
        assert r.status_code == 400 and b"cannot be used" in r.content
    r = owner.post(
        reverse("playbooks:new"),
        {
            "name": "X",
            "trigger": "no_login_7",
            "task_due_days": "3",
            "ghl_webhook_url": "https://10.0.0.1/h",
        },
    )
    assert r.status_code == 400
    assert not Play.objects.for_agency(world["agency_a"]).exists()


def test_unknown_trigger_or_template_is_refused(world, owner):
    r = owner.post(reverse("playbooks:new"), {"name": "X", "trigger": "nope", "task_due_days": "3"})
    assert r.status_code == 400
    assert owner.post(reverse("playbooks:switch-on-ready", args=["nope"])).status_code == 404
    assert not Play.objects.for_agency(world["agency_a"]).exists()


def test_edit_keeps_the_url_unless_replaced_or_removed(world, owner, receivers):
    slack = receivers["slack"]
    play = make_play(world["agency_a"], slack_url=slack.new_webhook())
    before = play.slack_webhook_secret_url
    data = {"name": "Renamed", "trigger": "no_login_14", "task_due_days": "5", "task_on": "on"}
    assert owner.post(reverse("playbooks:edit", args=[play.pk]), data).status_code == 302
    play.refresh_from_db()
    assert (play.name, play.slack_webhook_secret_url, play.task_due_days) == ("Renamed", before, 5)
    owner.post(reverse("playbooks:edit", args=[play.pk]), {**data, "remove_slack": "on"})
    play.refresh_from_db()
    assert play.slack_webhook_secret_url == ""


def test_switching_off_and_on_records_the_periods(world, owner):
    play = make_play(world["agency_a"])
    owner.post(reverse("playbooks:switch", args=[play.pk]), {"on": "0"})
    play.refresh_from_db()
    assert not play.enabled
    owner.post(reverse("playbooks:switch", args=[play.pk]), {"on": "1"})
    periods = list(
        play.periods.model.objects.for_agency(play.agency).values_list("off_at", flat=True)
    )
    assert len(periods) == 2 and periods.count(None) == 1


def test_plays_are_for_owners_and_admins_and_stay_in_their_agency(world, receivers, login, client):
    play = make_play(world["agency_b"])
    login(world["owner_a"])
    for name in ("playbooks:detail", "playbooks:edit"):
        assert client.get(reverse(name, args=[play.pk])).status_code == 404
    assert client.post(reverse("playbooks:switch", args=[play.pk]), {"on": "0"}).status_code == 404
    login(world["user_a"])
    assert client.get(reverse("playbooks:index")).status_code == 403
    assert client.get(reverse("playbooks:tasks")).status_code == 200
    client.logout()
    assert client.get(reverse("playbooks:tasks")).status_code in (302, 401, 403)


def test_tasks_page_mine_and_overdue_and_closing_by_hand(evaluate, world, owner, receivers):
    agency = world["agency_a"]
    make_play(agency, task_on=True, task_due_days=0)
    set_state(agency, "Loc0", DAY - timedelta(days=5), flags=[QUIET])
    evaluate(agency)
    task = Task.objects.for_agency(agency).get()
    mine = owner.get(reverse("playbooks:tasks")).content.decode()
    assert "Gallagher Roofing" in mine and "overdue" in mine
    assert (
        "Gallagher Roofing"
        in owner.get(reverse("playbooks:tasks") + "?show=overdue").content.decode()
    )
    assert owner.get(reverse("playbooks:tasks") + "?show=bogus").status_code == 400
    page = owner.get(reverse("analytics:location-detail", args=["Loc0"])).content.decode()
    assert 'id="tasks"' in page and task.title in page
    r = owner.post(
        reverse("playbooks:task-update", args=[task.pk]),
        {"status": "done", "due": task.due.isoformat(), "notes": "Called them", "next": "location"},
    )
    assert r.status_code == 302 and r["Location"].endswith("/app/locations/Loc0/")
    task.refresh_from_db()
    assert (task.status, task.closed_how, task.notes) == ("done", "by_hand", "Called them")
    assert "Gallagher Roofing" not in owner.get(reverse("playbooks:tasks")).content.decode()
    # Bad input: 400 and no change.
    r = owner.post(
        reverse("playbooks:task-update", args=[task.pk]), {"status": "weird", "due": "x"}
    )
    assert r.status_code == 400
    task.refresh_from_db()
    assert task.notes == "Called them"


def _add_task_form(html: str) -> tuple[str, dict[str, list[str]], dict[str, str]]:
    """The sub-account page's "Add a task" form: its action, each field's values as a browser
    would offer them (a select's options), and the values it would post untouched."""
    from html.parser import HTMLParser

    class Form(HTMLParser):
        def __init__(self):
            super().__init__()
            self.action, self.inside, self.select = None, False, None
            self.options: dict[str, list[str]] = {}
            self.defaults: dict[str, str] = {}

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form" and a.get("action", "").endswith("/tasks/"):
                self.action, self.inside = a["action"], True
            elif not self.inside:
                return
            elif tag == "input" and a.get("type") != "hidden":
                self.defaults[a["name"]] = a.get("value") or ""
                self.options[a["name"]] = [a.get("type") or "text"]
            elif tag == "select":
                self.select = a["name"]
                self.options[self.select] = []
            elif tag == "option" and self.select:
                self.options[self.select].append(a["value"])
                if "selected" in a:
                    self.defaults[self.select] = a["value"]
            elif tag == "textarea":
                self.defaults[a["name"]] = ""

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None
            elif tag == "form":
                self.inside = False

    form = Form()
    form.feed(html)
    return form.action, form.options, form.defaults


def test_a_task_added_by_hand_on_the_sub_account_page(world, owner):
    page = owner.get(reverse("analytics:location-detail", args=["Loc1"])).content.decode()
    action, options, defaults = _add_task_form(page)
    assert action == reverse("playbooks:task-create", args=["Loc1"])
    # A date picker opening on today, the agency's people to assign, notes.
    from analytics.agencyclock import agency_today

    today = agency_today(world["agency_a"]).isoformat()
    assert options["due"] == ["date"] and defaults["due"] == today
    assert options["assignee"][0] == "" and str(world["user_a"].pk) in options["assignee"]
    assert set(defaults) == {"title", "due", "assignee", "notes"}
    assert defaults["assignee"] == ""  # no CSM yet: nobody
    from accounts import tagging
    from accounts.models import Location

    csm = world["user_a"]
    tagging.assign_csm(
        world["agency_a"], csm, [Location.objects.for_agency(csm.agency).get(ghl_id="Loc1")]
    )
    page = owner.get(reverse("analytics:location-detail", args=["Loc1"])).content.decode()
    assert _add_task_form(page)[2]["assignee"] == str(csm.pk)  # the sub-account's CSM
    r = owner.post(
        action,
        {**defaults, "title": "Quarterly review", "assignee": str(world["user_a"].pk)},
    )
    assert r.status_code == 302
    task = Task.objects.for_agency(world["agency_a"]).get()
    assert (task.location_ghl_id, task.assignee) == ("Loc1", world["user_a"])
    assert (
        owner.post(
            reverse("playbooks:task-create", args=["B-nope"]),
            {"title": "x", "due": DAY.isoformat()},
        ).status_code
        == 404
    )


def test_delivery_log_shows_status_attempts_and_code_but_no_secret(
    evaluate, world, owner, receivers
):
    agency, slack = world["agency_a"], receivers["slack"]
    url = slack.new_webhook()
    play = make_play(agency, slack_url=url, secret="whsec_never_shown_1234")
    set_state(agency, "Loc0", DAY, flags=[QUIET])
    evaluate(agency)
    html = owner.get(reverse("playbooks:detail", args=[play.pk])).content.decode()
    assert "Delivered" in html and "200" in html and "Gallagher Roofing" in html
    assert url.split("/services/")[1] not in html and "whsec_never_shown_1234" not in html
    assert "Play fired" in html and "Same trigger, play off" in html


def test_plain_text_renderings_escape_for_their_medium():
    from analytics.playbooks.payload import slack_message

    p = {
        "event": "triggered",
        "play": {"name": "Quiet <b>&"},
        "episode": {"kind_label": "No login"},
        "sub_account": {"name": "<!channel> & Co", "url": "/app/locations/L/"},
        "score": 40,
        "band_label": "Steady",
        "change_7d": -3,
        "flags": [{"label": "No login", "evidence": "<https://evil|click>"}],
        "mrr_at_risk": {"amount": 1.0, "currency": "USD"},
        "csm": {"name": "Dana", "assigned": False},
    }
    msg = slack_message(p)
    everything = msg["text"] + "".join(b["text"]["text"] for b in msg["blocks"] if "text" in b)
    assert "<!channel>" not in everything and "&lt;!channel&gt; &amp; Co" in everything
    assert "<https://evil|click>" not in everything
    # Email: the text part is plain text (as typed), the HTML part is escaped.
    text = render_to_string("playbooks/email/play.txt", {"p": p})
    html = render_to_string("playbooks/email/play.html", {"p": p})
    assert "<!channel> & Co" in text and "&lt;!channel&gt; &amp; Co" in html


def test_a_churn_play_needs_its_threshold(world, owner):
    data = {"name": "Likely to churn", "trigger": "churn_probability", "task_due_days": "3"}
    assert owner.post(reverse("playbooks:new"), data).status_code == 400
    assert not Play.objects.for_agency(world["agency_a"]).exists()
    r = owner.post(reverse("playbooks:new"), {**data, "threshold": "60", "enabled": "1"})
    assert r.status_code == 200  # the signing secret, shown once
    play = Play.objects.for_agency(world["agency_a"]).get()
    assert (play.trigger, play.threshold, play.enabled) == ("churn_probability", 0.6, True)


def test_a_sub_accounts_own_people_never_see_tasks(world, receivers, login, client, make_user):
    agency = world["agency_a"]
    Task.objects.create(agency=agency, location_ghl_id="Loc0", title="Call them", due=DAY)
    person = make_user(agency, role="location", location_ids=["Loc0"])
    login(person)
    assert client.get(reverse("playbooks:tasks")).status_code == 404
    page = client.get(reverse("analytics:location-detail", args=["Loc0"]))
    assert page.status_code == 200 and b"Call them" not in page.content
    assert b">Tasks<" not in page.content
    r = client.post(
        reverse("playbooks:task-create", args=["Loc0"]), {"title": "x", "due": DAY.isoformat()}
    )
    assert r.status_code == 404 and Task.objects.for_agency(agency).count() == 1
