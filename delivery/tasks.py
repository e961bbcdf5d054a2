"""Celery tasks: thin wrappers that hand the work to ``services``."""

from celery import shared_task

from . import alerts, services


@shared_task(acks_late=True, ignore_result=True)
def deliver_postback(postback_id: int, manual: bool = False) -> None:
    services.deliver(postback_id, manual=manual)


@shared_task(ignore_result=True)
def sweep_due_postbacks() -> int:
    return services.sweep_due_postbacks()


@shared_task(ignore_result=True)
def remove_old_bodies() -> int:
    return services.remove_old_bodies()


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OSError,), retry_backoff=30)
def send_alert(subject: str, body: str) -> None:
    alerts.send_alert_now(subject, body)
