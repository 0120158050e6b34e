"""Re-encrypt every play's webhook URLs and signing secret with the newest TOKEN_ENCRYPTION_KEYS
key (run with rotate_token_keys; docs/runbooks/rotate-token-encryption-keys.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from analytics.playbooks.models import Play
from gocsm.encryption import InvalidToken, reencrypt

FIELDS = ("ghl_webhook_secret_url", "slack_webhook_secret_url", "signing_secret")


class Command(BaseCommand):
    help = "Re-encrypt every play's webhook URLs and signing secret with the newest key."

    def handle(self, *args, **options):
        done = failed = 0
        for pk in Play.objects.all_agencies().values_list("pk", flat=True).iterator():
            with transaction.atomic():
                play = Play.objects.all_agencies().select_for_update().get(pk=pk)
                try:
                    for name in FIELDS:
                        if getattr(play, name):
                            setattr(play, name, reencrypt(getattr(play, name)))
                except InvalidToken:
                    failed += 1
                    self.stderr.write(f"play {pk}: no configured key opens its secrets")
                    continue
                play.save(update_fields=[*FIELDS, "updated_at"])
                done += 1
        self.stdout.write(f"re-encrypted {done} play(s), {failed} failed")
        if failed:
            raise CommandError(f"{failed} play(s) could not be decrypted")
