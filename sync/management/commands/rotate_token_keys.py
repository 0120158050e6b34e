"""Re-encrypt every stored OAuth token with the newest key in TOKEN_ENCRYPTION_KEYS.

Rotation: put the new key first in TOKEN_ENCRYPTION_KEYS (keep the old one after it), deploy, run
this command, then remove the old key. Cached location tokens under the old key are simply
re-minted when they fail to decrypt.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from sync import tokens
from sync.models import Installation


class Command(BaseCommand):
    help = "Re-encrypt every stored GHL token with the newest TOKEN_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        done = failed = 0
        for pk in Installation.objects.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                inst = Installation.objects.select_for_update().get(pk=pk)
                try:
                    if inst.access_token:
                        inst.access_token = tokens.reencrypt(inst.access_token)
                    if inst.refresh_token:
                        inst.refresh_token = tokens.reencrypt(inst.refresh_token)
                except tokens.InvalidToken:
                    failed += 1
                    self.stderr.write(f"installation {pk}: no configured key opens its tokens")
                    continue
                inst.save(update_fields=["access_token", "refresh_token", "updated_at"])
                done += 1
        self.stdout.write(f"re-encrypted {done} installation(s), {failed} failed")
        if failed:
            raise CommandError(f"{failed} installation(s) could not be decrypted")
