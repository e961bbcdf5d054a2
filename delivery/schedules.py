"""The periodic tasks beat runs, kept in django-celery-beat's tables by every ``migrate``."""

from django.conf import settings

SWEEP_TASK_NAME = "Queue due postbacks"


def ensure_periodic_tasks(**kwargs) -> None:
    """Create or update the schedule from settings; connected to ``post_migrate``."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.POSTBACKS_SWEEP_INTERVAL, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=SWEEP_TASK_NAME,
        defaults={"task": "delivery.tasks.sweep_due_postbacks", "interval": every, "enabled": True},
    )
