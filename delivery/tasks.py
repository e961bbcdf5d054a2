"""Celery tasks: thin wrappers that hand the work to ``services``."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_postback(postback_id: int, manual: bool = False) -> None:
    services.deliver(postback_id, manual=manual)


@shared_task(ignore_result=True)
def sweep_due_postbacks() -> int:
    return services.sweep_due_postbacks()
