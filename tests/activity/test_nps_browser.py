"""The NPS prompt in a real Chromium, on a sub-account page of the dev GHL shell: the tracker is
loaded from the app's origin (another site) under the shell's strict content policy, asks the
real endpoints, and is answered by keyboard alone.

Shown to a sub-account's own user, not to agency staff; the answer is stored, moves the score
and raises the detractor flag; the next visit does not ask again; Esc dismisses.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from tests.browser import launched_chromium, open_app, signed_sites

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SECRET = "browser-test-shared-secret"
# Screenshots for a person to look at (var/nps-prompt.png, var/nps-feedback.png).
VAR = Path(__file__).resolve().parents[2] / "var"


@pytest.fixture
def people(transactional_db, make_agency, make_user):
    from accounts.models import Location
    from analytics.ingest import LocationDayFacts, record_location_day
    from analytics.models import NpsOptIn

    agency = make_agency(name="BrightPath Agency", timezone="UTC")
    for ghl_id, name in (("LocLombardi01", "Lombardi Dental"), ("LocQuiet0002", "Quiet Co")):
        Location.objects.create(agency=agency, ghl_id=ghl_id, name=name)
    NpsOptIn.objects.create(agency_id=agency.pk, location_ghl_id="LocLombardi01")
    today = timezone.now().date()
    for k in range(10):
        record_location_day(
            agency.pk,
            "LocLombardi01",
            today - timedelta(days=k),
            LocationDayFacts(workflows_published=1, subscription_status="active"),
        )
    confirmed = {"confirmed_by_ghl_at": timezone.now()}
    owner = make_user(
        agency,
        name="Dana Whitfield",
        role="owner",
        is_agency_owner=True,
        ghl_role="admin",
        **confirmed,
    )
    client_user = make_user(
        agency,
        ghl_id="UserLombardi1",
        name="Maria Lombardi",
        role="location",
        ghl_type="account",
        ghl_role="admin",
        location_ids=["LocLombardi01"],
        **confirmed,
    )
    colleague = make_user(
        agency,
        ghl_id="UserLombardi2",
        name="Tony Lombardi",
        role="location",
        ghl_type="account",
        ghl_role="user",
        location_ids=["LocLombardi01"],
        **confirmed,
    )
    return {"agency": agency, "owner": owner, "client": client_user, "colleague": colleague}


@pytest.fixture
def sites(live_server, settings):
    shell_origin, app_origin = signed_sites(live_server, settings, SECRET)
    settings.GHL_APP_ID = "app0123456789abcdef"
    settings.NPS_PROMPT_DELAY_SECONDS = 0
    settings.ACTIVITY_LOOKUP_CACHE_SECONDS = 0
    return shell_origin, app_origin


@pytest.fixture
def browser(people):
    with launched_chromium() as chromium:
        yield chromium


def open_sub_account_page(browser, shell_origin, user):
    """The shell's sub-account page as `user`; returns (page, the ask answer's JSON)."""
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with page.expect_response("**/ingest/nps/ask/", timeout=15_000) as asked:
        page.goto(f"{shell_origin}/dev/ghl-shell/?user={user.pk}&page=sub-account")
    page.errors = errors
    return page, asked.value.json()


def read(query):
    """Run a database read in a thread of its own, closing its connections after: Playwright's
    sync API keeps an event loop in the test's thread, where Django refuses queries (and where a
    connection opened anyway would outlive the test)."""

    def run():
        try:
            return query()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def prompt(page):
    return page.locator("[data-gocsm=nps]")


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_prompt_asks_a_sub_account_user_once_never_staff_and_takes_keyboard_answers(
    people, sites, browser, eager_celery
):
    from analytics.models import HealthScore, NpsResponse, RiskFlag

    shell_origin, app_origin = sites
    agency = people["agency"]

    # Agency staff viewing the sub-account: asked "no", nothing shown.
    page, answer = open_sub_account_page(browser, shell_origin, people["owner"])
    assert page.url.endswith("/v2/location/LocQuiet0002/dashboard") or page.url.endswith(
        "/v2/location/LocLombardi01/dashboard"
    )
    assert answer == {"ask": False}
    page.wait_for_timeout(300)
    assert prompt(page).count() == 0
    page.close()

    # The sub-account's own user: the prompt opens with the agency's name, focused.
    page, answer = open_sub_account_page(browser, shell_origin, people["client"])
    assert page.url.endswith("/v2/location/LocLombardi01/dashboard")
    assert answer == {"ask": True, "agency": "BrightPath Agency", "comment_max": 1000}
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "How likely are you to recommend BrightPath Agency" in dialog.inner_text()
    # Inside a shadow root, styled there (the shell's style-src 'self' lets no inline style in)
    # and untouched by the page's own styles.
    assert page.evaluate("() => !!document.querySelector('[data-gocsm=nps]').shadowRoot")
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector('[data-gocsm=nps]')"
            ".shadowRoot.querySelector('.box')).position"
        )
        == "fixed"
    )
    assert page.evaluate(
        "() => document.activeElement === document.querySelector('[data-gocsm=nps]')"
    )
    # The shell's own stylesheet (app.css: buttons, labels, fonts) does not reach inside: the
    # prompt's Send button keeps its colours, and the page's own button is not restyled by it.
    styles = page.evaluate(
        """() => {
            const root = document.querySelector('[data-gocsm=nps]').shadowRoot;
            const send = [...root.querySelectorAll('button')].find(b => b.textContent === 'Send');
            const own = document.querySelector('.devshell-pick button');
            return [getComputedStyle(send).backgroundColor, getComputedStyle(own).backgroundColor];
        }"""
    )
    assert styles[0] == "rgb(37, 99, 235)" and styles[1] != styles[0], styles
    VAR.mkdir(exist_ok=True)
    page.screenshot(path=str(VAR / "nps-prompt.png"))
    # Eleven labelled radio buttons.
    radios = page.get_by_role("radio")
    assert radios.count() == 11
    assert page.get_by_role("radio", name="3 out of 10").count() == 1
    # Keyboard only: Tab past the close button to the scale, pick 3, write, send.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.get_by_role("radio", name="3 out of 10").is_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("Reminders stopped working and nobody called back.")
    page.keyboard.press("Tab")  # Not now
    page.keyboard.press("Tab")  # Send
    with page.expect_response("**/ingest/nps/answer/") as sent:
        page.keyboard.press("Enter")
    assert sent.value.status == 204
    page.get_by_role("status").wait_for()
    assert "Thank you" in page.get_by_role("status").inner_text()
    page.keyboard.press("Escape")
    prompt(page).wait_for(state="detached")
    assert page.errors == []
    page.close()

    row = read(lambda: NpsResponse.objects.for_agency(agency).get())
    assert (row.location_ghl_id, row.user_ghl_id, row.user_name, row.rating, row.comment) == (
        "LocLombardi01",
        "UserLombardi1",
        "Maria Lombardi",
        3,
        "Reminders stopped working and nobody called back.",
    )
    # The score and the flag moved with it (recomputed for today when the answer came in).
    score = read(
        lambda: HealthScore.objects.for_agency(agency).get(
            location_ghl_id="LocLombardi01", day=row.day
        )
    )
    assert score.components["sentiment"] == 30.0
    flag = read(
        lambda: RiskFlag.objects.for_agency(agency).get(
            location_ghl_id="LocLombardi01", day=row.day, code="nps_detractor"
        )
    )
    assert flag.evidence == f"Maria Lombardi rated 3/10 on {row.day.isoformat()}"

    # The second visit does not ask again.
    page, answer = open_sub_account_page(browser, shell_origin, people["client"])
    assert answer == {"ask": False}
    page.wait_for_timeout(300)
    assert prompt(page).count() == 0
    page.close()

    # A colleague closes it with Esc: a dismissal, and focus goes back to the page.
    page, answer = open_sub_account_page(browser, shell_origin, people["colleague"])
    assert answer["ask"] is True
    page.get_by_role("dialog").wait_for()
    with page.expect_response("**/ingest/nps/dismiss/") as dismissed:
        page.keyboard.press("Escape")
    assert dismissed.value.status == 204
    prompt(page).wait_for(state="detached")
    page.close()
    assert sorted(
        read(
            lambda: list(
                NpsResponse.objects.for_agency(agency).values_list("user_ghl_id", "rating")
            )
        )
    ) == [
        ("UserLombardi1", 3),
        ("UserLombardi2", None),
    ]

    # The owner, in GoCSM inside the shell, reads it on the feedback page and the sub-account's.
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    frame = open_app(page, shell_origin, app_origin, people["owner"].pk)
    assert frame is not None
    frame.get_by_role("link", name="Feedback").click()
    frame.wait_for_url(f"{app_origin}/app/feedback/")
    text = frame.locator("main").inner_text()
    assert "Maria Lombardi" in text and "Reminders stopped working" in text
    assert "-100" in text  # one detractor answer: NPS -100
    assert "50 %" in text  # response rate: 1 answer of 2 prompts shown
    page.screenshot(path=str(VAR / "nps-feedback.png"), full_page=True)
    frame.goto(f"{app_origin}/app/locations/LocLombardi01/")
    detail = frame.locator("main").inner_text()
    assert "NPS detractor" in detail and "Maria Lombardi rated 3/10" in detail
    assert "Sentiment (NPS)" in detail
    page.close()
