from django.contrib.admin.apps import AdminConfig


class GoCSMAdminConfig(AdminConfig):
    """django.contrib.admin with GoCSM's OTP-enforcing, hardened site as `admin.site`."""

    default_site = "gocsm.adminsite.GoCSMAdminSite"

    def ready(self):
        super().ready()
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_migrate

        from gocsm import staffauth, staffroles

        user_login_failed.connect(staffauth.on_login_failed, dispatch_uid="gocsm.staff.failed")
        user_logged_in.connect(staffauth.on_logged_in, dispatch_uid="gocsm.staff.in")
        post_migrate.connect(staffroles.on_post_migrate, dispatch_uid="gocsm.staff.roles")
