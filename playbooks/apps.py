from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"

    def ready(self):
        from analytics.signals import state_refreshed
        from analytics.views.common import register_nav_item
        from analytics.views.location import register_panel
        from playbooks import receivers, views

        state_refreshed.connect(receivers.on_state_refreshed, dispatch_uid="playbooks-evaluate")
        # Tasks are the agency's notes about its clients: not for a sub-account's own people.
        register_nav_item(
            "playbooks:tasks", "Tasks", False, before="analytics:settings", staff_only=True
        )
        register_nav_item("playbooks:index", "Playbooks", True, before="analytics:settings")
        register_panel(views.location_panel)
