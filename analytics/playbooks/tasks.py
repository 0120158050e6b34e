"""Celery tasks of playbooks: send one delivery, and sweep the ones a lost message left behind."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone as dj_tz

from analytics.playbooks.models import Delivery
from analytics.playbooks.sending import attempt_seconds, run_delivery


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, soft_time_limit=60)
def deliver(self, delivery_id: int) -> str:
    """Claim and send one delivery (playbooks.sending); schedules its own retry. Running it twice,
    or again after a worker died, never sends twice."""
    step = run_delivery(delivery_id)
    if step.retry_in is not None and not self.app.conf.task_always_eager:
        # Inline (embedded mode) the sweep retries instead: an eager countdown would not wait.
        deliver.apply_async((delivery_id,), countdown=step.retry_in)
    return step.status


@shared_task(acks_late=True, soft_time_limit=60)
def sweep_deliveries() -> int:
    """Every minute: queue again what is due and was not picked up (a retry whose message was
    lost, a queued row whose task never ran, a claim whose worker died)."""
    now = dj_tz.now()
    rows = Delivery.objects.all_agencies()
    due = list(
        rows.filter(
            status=Delivery.PENDING, created_at__lte=now - timedelta(seconds=30)
        ).values_list("pk", flat=True)[:500]
    )
    due += list(
        rows.filter(status=Delivery.RETRYING, next_attempt_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    due += list(
        rows.filter(
            status=Delivery.SENDING, claimed_at__lte=now - timedelta(seconds=attempt_seconds())
        ).values_list("pk", flat=True)[:500]
    )
    for pk in due:
        if deliver.app.conf.task_always_eager:
            run_delivery(pk)
        else:
            deliver.delay(pk)
    return len(due)
