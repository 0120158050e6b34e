from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Agencies and people"

    def ready(self) -> None:
        # The base (gocsm) announces staff sign-ins and admin changes and collects the metrics;
        # accounts keeps the audit trail and the agencies, so it plugs in here instead of gocsm
        # importing accounts.
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from accounts import gauges, staffaudit
        from gocsm import metrics
        from gocsm.signals import admin_object_changed, staff_sign_in_failed

        staff_sign_in_failed.connect(
            staffaudit.on_sign_in_failed, dispatch_uid="accounts.staff.failed"
        )
        user_logged_in.connect(staffaudit.on_signed_in, dispatch_uid="accounts.staff.in")
        user_logged_out.connect(staffaudit.on_signed_out, dispatch_uid="accounts.staff.out")
        admin_object_changed.connect(
            staffaudit.on_admin_change, dispatch_uid="accounts.admin.change"
        )
        metrics.register_freshness_source(gauges.locations_last_synced)
        metrics.register_scrape_collector(gauges.AgencyGauges())

        # The cached tags, books, people and plan names of the pages (accounts.lookups) go when
        # one of them is written. Deletes of people and assignments happen in bulk (tagging, purge),
        # where receivers would cost a row fetch each: those paths forget the lists themselves.
        from django.db.models.signals import post_delete, post_save

        from accounts import lookups, pagecache
        from accounts.models import CSMAssignment, GHLUser, SaasPlan, Tag

        for model in (Tag, GHLUser, CSMAssignment, SaasPlan):
            post_save.connect(
                lookups.on_change, sender=model, dispatch_uid=f"accounts.lookups.{model.__name__}"
            )
        for model in (Tag, SaasPlan):
            uid = f"accounts.lookups.{model.__name__}.del"
            post_delete.connect(lookups.on_change, sender=model, dispatch_uid=uid)
        pagecache.register("lookups", lookups.cache_key)
