from django.apps import AppConfig
from django.conf import settings


class SyncConfig(AppConfig):
    name = "sync"

    def ready(self) -> None:
        # Register the webhook tasks with Celery (autodiscovery only imports sync.tasks).
        from sync.ghl.signals import ghl_event
        from sync.ghlmetrics import count_ghl_event
        from sync.webhooks import tasks  # noqa: F401

        ghl_event.connect(count_ghl_event, dispatch_uid="gocsm-ghl-metrics")
        # The status line's "re-sync asked at" is read with the page's other cached values.
        from accounts import pagecache
        from sync.status import resync_key

        pagecache.register("resync asked", resync_key)

        # A malformed TOKEN_ENCRYPTION_KEYS stops start-up instead of the first token write.
        if settings.TOKEN_ENCRYPTION_KEYS:
            from sync import tokens

            tokens.fernet()
