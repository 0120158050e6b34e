"""Walk every page of every registered admin and search it for the secrets planted in the data.

Iterates admin.site._registry, so models registered later (sync.Installation with its encrypted
tokens, billing.BillingAccount with Stripe ids) are swept without editing this file.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests.ops.factory import Planted, build


@pytest.fixture
def planted_world(make_agency, personas):
    planted = Planted()
    objects = {}
    for model in admin.site._registry:
        rows = []
        for agency in (personas["agency_a"], personas["agency_b"]):
            rows.append(build(model, agency, planted))
        objects[model] = rows
    # Sessions hold data too: a GHL session in the cache must never surface in admin.
    from django.contrib.sessions.backends.cache import SessionStore as _unused  # noqa: F401

    return planted, objects


def _pages(model, model_admin, objects, request):
    ns = "admin"
    info = (ns, model._meta.app_label, model._meta.model_name)
    yield reverse("{}:{}_{}_changelist".format(*info))
    yield reverse("{}:{}_{}_changelist".format(*info)) + "?q=a"
    yield reverse(f"{ns}:app_list", args=[info[1]])
    if model_admin.has_add_permission(request):
        yield reverse("{}:{}_{}_add".format(*info))
    for obj in objects:
        yield reverse("{}:{}_{}_change".format(*info), args=[obj.pk])
        yield reverse("{}:{}_{}_history".format(*info), args=[obj.pk])
        if model_admin.has_delete_permission(request, obj):
            yield reverse("{}:{}_{}_delete".format(*info), args=[obj.pk])
        try:
            purge_url = reverse("{}:{}_{}_purge".format(*info), args=[obj.pk])
        except NoReverseMatch:
            purge_url = None
        if purge_url:
            yield purge_url


def _assert_clean(html: str, planted: Planted, url: str):
    for secret in planted.secrets:
        assert secret not in html, f"planted secret rendered on {url}"
    for stripe_id in planted.stripe_ids:
        assert stripe_id not in html, f"full Stripe id rendered on {url}"
        assert stripe_id[:-4] not in html, f"Stripe id beyond last 4 rendered on {url}"


@pytest.mark.django_db
def test_no_admin_page_renders_a_planted_secret(planted_world, make_staff, staff_login, rf):
    planted, objects = planted_world
    assert planted.secrets, "the sweep planted nothing; it would prove nothing"
    superuser = make_staff(superuser=True)
    client = staff_login(superuser)
    request = rf.get("/admin/")
    request.user = superuser
    visited = 0
    for url in [reverse("admin:index")]:
        response = client.get(url)
        assert response.status_code == 200
        _assert_clean(response.content.decode(), planted, url)
    for model, model_admin in admin.site._registry.items():
        for url in _pages(model, model_admin, objects[model], request):
            response = client.get(url)
            assert response.status_code == 200, f"{url} answered {response.status_code}"
            _assert_clean(response.content.decode(), planted, url)
            visited += 1
    assert visited >= len(admin.site._registry) * 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "urlconf",
    [
        pytest.param("tests.ops.naive_ro_urls", marks=pytest.mark.urls("tests.ops.naive_ro_urls")),
        pytest.param("tests.ops.naive_rw_urls", marks=pytest.mark.urls("tests.ops.naive_rw_urls")),
    ],
)
def test_even_a_naive_admin_listing_every_field_renders_no_secret(
    planted_world, make_staff, staff_login, rf, urlconf
):
    import importlib

    site = importlib.import_module(urlconf).site
    planted, objects = planted_world
    superuser = make_staff(superuser=True)
    client = staff_login(superuser)
    request = rf.get("/")
    request.user = superuser
    for model, model_admin in site._registry.items():
        for url in _pages(model, model_admin, objects[model], request):
            response = client.get(url)
            assert response.status_code == 200, f"{url} answered {response.status_code}"
            _assert_clean(response.content.decode(), planted, url)


@pytest.mark.django_db
def test_stripe_ids_show_only_their_last_four(make_agency):
    from django.contrib.auth.models import User

    from gocsm.adminsafe import SafeModelAdmin, mask_tail

    class Fake:
        stripe_customer_id = "cus_ABCDEFGH1234"

    masked = mask_tail(Fake.stripe_customer_id)
    assert masked.endswith("1234")
    assert "ABCDEFGH" not in masked
    assert mask_tail("abc") == "••••"
    admin_obj = SafeModelAdmin(User, admin.site)
    assert admin_obj._hidden("password")
    assert admin_obj._hidden("access_token_encrypted")
    assert not admin_obj._hidden("username")


def test_every_registered_admin_is_hardened():
    from gocsm.adminsafe import SafeAdminMixin
    from gocsm.adminsite import AuditedAdminMixin, GoCSMAdminSite

    assert isinstance(
        admin.site._wrapped if hasattr(admin.site, "_wrapped") else admin.site, GoCSMAdminSite
    )
    for model_admin in admin.site._registry.values():
        assert isinstance(model_admin, SafeAdminMixin), type(model_admin)
        assert isinstance(model_admin, AuditedAdminMixin), type(model_admin)


def test_a_plain_model_admin_registered_later_is_hardened_too():
    from django.contrib.auth.models import Permission

    from gocsm.adminsafe import SafeAdminMixin
    from gocsm.adminsite import GoCSMAdminSite

    site = GoCSMAdminSite(name="sweep")
    site.register(Permission)
    assert isinstance(site._registry[Permission], SafeAdminMixin)


def test_a_stripe_id_column_is_masked_and_never_editable(rf):
    from django.db import models
    from django.test.utils import isolate_apps

    from gocsm.adminsafe import SafeModelAdmin

    with isolate_apps("accounts"):

        class FakeBilling(models.Model):
            stripe_customer_id = models.CharField(max_length=64)
            api_key = models.CharField(max_length=64)
            plan = models.CharField(max_length=16)

            class Meta:
                app_label = "accounts"

        class Naive(SafeModelAdmin):
            list_display = ["plan", "stripe_customer_id", "api_key"]
            fields = ["plan", "stripe_customer_id", "api_key"]

        model_admin = Naive(FakeBilling, admin.site)
        request = rf.get("/")
        columns = model_admin.get_list_display(request)
        assert columns == ["plan", "stripe_customer_id__last4"]
        row = FakeBilling(stripe_customer_id="cus_SECRETPART9876", api_key="k", plan="pro")
        shown = getattr(model_admin, "stripe_customer_id__last4")(row)
        assert shown.endswith("9876")
        assert "SECRETPART" not in shown
        assert "stripe_customer_id__last4" in model_admin.get_readonly_fields(request)
        assert model_admin.get_fields(request) == ["plan", "stripe_customer_id__last4"]
        form = model_admin.get_form(request)
        assert set(form.base_fields) == {"plan"}
