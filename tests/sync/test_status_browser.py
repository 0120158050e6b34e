"""The import's progress as a person sees it in Chromium inside the dev GHL shell: the bar moves
by itself (the static status script polling the JSON endpoint, no inline script), and the page
reloads with complete figures once the import has finished."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from tests.browser import launched_chromium, open_app, owner_with_portfolio, signed_sites
from tests.sync.test_import_progress import finish, hold_import_open

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def off_the_event_loop(fn):
    """Playwright's sync API runs an event loop in this thread, where Django refuses database
    calls: the pull's bookkeeping runs in a thread of its own, as a worker's would."""
    errors = []

    def run():
        try:
            fn()
        except Exception as exc:  # re-raised below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    if errors:
        raise errors[0]


@pytest.fixture
def owner(transactional_db, make_agency, make_user):
    return owner_with_portfolio(make_agency, make_user, 3, days=3)


@pytest.fixture
def sites(live_server, settings):
    return signed_sites(live_server, settings)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_bar_moves_by_itself_and_the_page_reloads_when_the_import_is_done(owner, sites):
    from sync.models import SyncRun

    agency = owner.agency
    run = hold_import_open(agency, done=1, total=4)
    shell_origin, app_origin = sites
    with launched_chromium() as chromium:
        page = chromium.new_page(viewport={"width": 940, "height": 1000})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        frame = open_app(page, shell_origin, app_origin, owner.pk)
        assert frame is not None
        message = frame.locator("[data-sync-message]")
        assert message.inner_text().startswith("1 of 4 sub-accounts done")
        assert frame.locator("#sync-status progress").get_attribute("value") == "25"
        assert frame.locator("main.is-incomplete").count() == 1

        # A worker reports another sub-account: the bar follows without a reload.
        from sync import runs
        from tests.sync.test_import_progress import _result

        off_the_event_loop(
            lambda: runs.record_location(
                run.pk, agency.pk, "Loc0001", status="ok", result=_result()
            )
        )
        frame.wait_for_function(
            "() => document.querySelector('#sync-status progress').value === 50", timeout=15000
        )
        assert message.inner_text().startswith("2 of 4 sub-accounts done")

        # The last reports close the run: the page reloads itself, complete, without a bar.
        off_the_event_loop(lambda: finish(agency, run, total=4, done=2))
        frame.wait_for_selector(".import-progress", state="detached", timeout=20000)
        frame.wait_for_selector(".freshness time")
        assert frame.locator("main.is-incomplete").count() == 0
        assert frame.locator(".incomplete-note").count() == 0
        assert "Figures as of" in frame.locator(".freshness").inner_text()
        assert errors == []  # nothing refused by the CSP, no script error
    assert SyncRun.objects.for_agency(agency).get(pk=run.pk).status == SyncRun.STATUS_OK
