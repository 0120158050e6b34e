"""Celery tasks for webhooks: the view verifies and enqueues, these do the work."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone as dj_tz

from sync.models import WebhookReceipt
from sync.webhooks import handlers


@shared_task(
    name="sync.webhooks.process_event",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def process_event(receipt_id: int, event: dict) -> None:
    outcome = handlers.apply(event)
    WebhookReceipt.objects.filter(pk=receipt_id).update(
        processed_at=dj_tz.now(), outcome=outcome[:32]
    )
