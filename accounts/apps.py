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
