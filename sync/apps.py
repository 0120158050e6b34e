from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"

    def ready(self) -> None:
        # Register the webhook tasks with Celery (autodiscovery only imports sync.tasks).
        from sync.webhooks import tasks  # noqa: F401
