from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    # Lives inside analytics (the design card's top level has no other app); keeps its own label,
    # tables and migrations.
    name = "analytics.playbooks"
    label = "playbooks"

    def ready(self):
        from analytics.playbooks import receivers, views
        from analytics.signals import state_refreshed
        from analytics.views.common import register_nav_item
        from analytics.views.location import register_panel

        state_refreshed.connect(receivers.on_state_refreshed, dispatch_uid="playbooks-evaluate")
        # Tasks are the agency's notes about its clients: not for a sub-account's own people.
        register_nav_item(
            "playbooks:tasks", "Tasks", False, before="analytics:settings", staff_only=True
        )
        register_nav_item("playbooks:index", "Playbooks", True, before="analytics:settings")
        register_panel(views.location_panel)
