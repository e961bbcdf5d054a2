"""The periodic tasks beat runs, kept in django-celery-beat's tables by every ``migrate``."""

from django.conf import settings

SWEEP_TASK_NAME = "Queue due postbacks"
RETENTION_TASK_NAME = "Remove old request and response bodies"


def ensure_periodic_tasks(**kwargs) -> None:
    """Create or update the schedules from settings; connected to ``post_migrate``."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.POSTBACKS_SWEEP_INTERVAL, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=SWEEP_TASK_NAME,
        defaults={"task": "delivery.tasks.sweep_due_postbacks", "interval": every, "enabled": True},
    )
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="17", hour="3", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.update_or_create(
        name=RETENTION_TASK_NAME,
        defaults={"task": "delivery.tasks.remove_old_bodies", "crontab": daily, "enabled": True},
    )
