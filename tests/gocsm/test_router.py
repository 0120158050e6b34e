from django.apps import apps
from django.db import router


def test_analytics_models_go_to_the_analytics_alias_and_the_rest_to_default():
    for model in apps.get_models():
        expected = "analytics" if model._meta.app_label == "analytics" else "default"
        assert router.db_for_read(model) == expected
        assert router.db_for_write(model) == expected


def test_migrations_run_on_both_aliases_for_their_own_apps():
    assert router.allow_migrate("analytics", "analytics")
    assert not router.allow_migrate("analytics", "accounts")
    assert router.allow_migrate("default", "accounts")
    # In tests the aliases are separate databases, so default never takes analytics tables.
    assert not router.allow_migrate("default", "analytics")
