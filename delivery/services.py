"""The delivery log's business rules: creating postbacks, delivering them, retrying them.

Signals, tasks, admin actions and API views call these functions and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.events import order_event_data
from customers.models import Order
from templates_app.rendering import RenderedMessage, render_template
from templates_app.samples import sample_event_data
from triggers import services as trigger_services
from triggers.models import Trigger
from triggers.selectors import is_live, triggers_for_event
from triggers.services import HealthChange

from . import envelopes, throttling
from .alerts import alert_health_change
from .models import DeliveryAttempt, Postback, WorkspaceSettings
from .policy import retry_delay
from .transports import TransportResult, send_email, send_webhook

logger = logging.getLogger(__name__)

DUE_STATUSES = (Postback.Status.PENDING, Postback.Status.RETRYING)
# Settled postbacks no longer hold up later ones of the same order under ordered delivery.
SETTLED_STATUSES = (Postback.Status.DELIVERED, Postback.Status.FAILED, Postback.Status.SKIPPED)


def create_postbacks(order: Order, event: str) -> list[Postback]:
    """One postback per trigger of the order's customer for ``event``.

    Runs inside the transaction that changed the order; the postbacks are queued only once
    it commits, so a rolled-back change sends nothing. A trigger that is inactive gets its
    postback too, kept as skipped, so staff can send it once the trigger is fixed.
    """
    triggers = list(triggers_for_event(order.customer_id, event))
    if not triggers:
        return []
    data = order_event_data(order, event)
    now = timezone.now()
    postbacks = Postback.objects.bulk_create(
        Postback(
            trigger=trigger,
            order=order,
            order_reference=order.reference_id,
            event=event,
            event_data=data,
            **(
                {"next_attempt_at": now}
                if is_live(trigger)
                else {
                    "status": Postback.Status.SKIPPED,
                    "last_error": "The trigger was inactive when the event happened.",
                }
            ),
        )
        for trigger in triggers
    )
    due = [postback.pk for postback in postbacks if postback.status == Postback.Status.PENDING]
    if due:
        transaction.on_commit(partial(enqueue, due))
    return postbacks


def enqueue(
    postback_ids: Iterable[int],
    *,
    countdown: float | None = None,
    manual: bool = False,
    retry: bool = False,
) -> None:
    """Publish a delivery task for each postback, retries to the retry queue.

    A broker that cannot be reached is logged, not raised: the postbacks are in the database
    and the periodic sweep queues them once the broker is back.
    """
    from .tasks import deliver_postback

    queue = settings.POSTBACKS_RETRY_QUEUE if retry else settings.POSTBACKS_QUEUE
    queued = []
    for postback_id in postback_ids:
        try:
            deliver_postback.apply_async(
                (postback_id,), {"manual": manual}, countdown=countdown, queue=queue
            )
        except Exception:
            logger.warning("Could not queue postback %s; the sweep will retry", postback_id)
            break
        queued.append(postback_id)
    if queued:
        Postback.objects.filter(pk__in=queued).update(enqueued_at=timezone.now())


def resend(postback_ids: Iterable[int]) -> None:
    """Staff asked for one more attempt now, whatever the postbacks' status and schedule."""
    enqueue(postback_ids, manual=True)


def send_test_postback(trigger: Trigger) -> DeliveryAttempt:
    """Send the trigger's event sample data to its real destination now, and return the
    attempt. The postback is kept in the delivery log, marked as a test, and does not count
    towards the trigger's health; it is sent even while the trigger is inactive, since that
    is when staff test one."""
    postback = Postback.objects.create(
        trigger=trigger,
        event=trigger.event,
        event_data=sample_event_data(trigger.event),
        is_test=True,
        order_reference="(test)",
    )
    return deliver(postback.pk, manual=True, throttle=False)


def sweep_due_postbacks(limit: int = 1000) -> int:
    """Queue postbacks that are due but have no live queue message; returns how many."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.POSTBACKS_REQUEUE_AFTER)
    due = list(
        Postback.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .order_by("next_attempt_at")
        .values_list("pk", "attempt_count")[:limit]
    )
    enqueue([pk for pk, attempts in due if not attempts])
    enqueue([pk for pk, attempts in due if attempts], retry=True)
    return len(due)


def remove_old_bodies() -> int:
    """Drop request and response bodies older than the retention; keep the metadata."""
    now = timezone.now()
    cutoff = now - timedelta(days=settings.POSTBACKS_BODY_RETENTION_DAYS)
    return DeliveryAttempt.objects.filter(
        started_at__lt=cutoff, bodies_removed_at__isnull=True
    ).update(request_body="", response_body="", bodies_removed_at=now)


def _claim(postback_id: int, *, manual: bool) -> Postback | None:
    """Take the postback for this worker, or None if it is not due or another worker has it.

    A single conditional UPDATE is the claim: databases apply it atomically, so of two workers
    racing for the same postback exactly one sees its row updated. A claim lapses after
    ``POSTBACKS_CLAIM_TIMEOUT`` so a postback held by a worker that died is picked up again.
    """
    now = timezone.now()
    claimable = Postback.objects.filter(pk=postback_id).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    if not manual:
        claimable = claimable.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
    lease = now + timedelta(seconds=settings.POSTBACKS_CLAIM_TIMEOUT)
    if not claimable.update(claimed_until=lease):
        return None
    return Postback.objects.select_related("trigger__template", "trigger__customer").get(
        pk=postback_id
    )


def _release(postback: Postback, **changes: object) -> None:
    changes["claimed_until"] = None
    Postback.objects.filter(pk=postback.pk).update(**changes)


def _same_ordered_stream(postback: Postback) -> Q | None:
    """Under ordered delivery, the postbacks that must arrive in order with this one: those
    of the same order going to the same destination through ordered triggers (so a receiver
    never sees "delivered" before "shipped"). None when the trigger is not ordered."""
    trigger = postback.trigger
    if not trigger.ordered_delivery or postback.order_id is None:
        return None
    return Q(
        order_id=postback.order_id,
        trigger__ordered_delivery=True,
        trigger__delivery_method=trigger.delivery_method,
        trigger__url=trigger.url,
        trigger__email_recipients=trigger.email_recipients,
    )


def _blocking_postback(postback: Postback) -> Postback | None:
    """The earliest unsettled postback that must be delivered before this one, if any."""
    stream = _same_ordered_stream(postback)
    if stream is None:
        return None
    return (
        Postback.objects.filter(stream, pk__lt=postback.pk)
        .exclude(status__in=SETTLED_STATUSES)
        .order_by("pk")
        .first()
    )


def _release_next_in_line(postback: Postback) -> None:
    """Under ordered delivery, let the next postback of the same stream go now."""
    stream = _same_ordered_stream(postback)
    if stream is None:
        return
    following = (
        Postback.objects.filter(stream, pk__gt=postback.pk, status__in=DUE_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        Postback.objects.filter(pk=following).update(next_attempt_at=timezone.now())
        transaction.on_commit(partial(enqueue, [following]))


def deliver(
    postback_id: int, *, manual: bool = False, throttle: bool = True
) -> DeliveryAttempt | None:
    """Make one delivery attempt for a postback and record it.

    Returns None when no attempt was made: not due, delivered already, claimed by another
    worker, waiting for an earlier postback of its order, waiting its turn at a busy
    destination or under its trigger's rate limit (put back in the queue), or skipped
    because its trigger was deactivated. ``throttle=False`` skips the destination and rate
    limits, for a test send staff are waiting for.
    """
    postback = _claim(postback_id, manual=manual)
    if postback is None:
        return None
    trigger = postback.trigger
    if not manual and not is_live(trigger):
        _release(
            postback,
            status=Postback.Status.SKIPPED,
            next_attempt_at=None,
            last_error="The trigger was deactivated before this postback was sent.",
        )
        with transaction.atomic():
            _release_next_in_line(postback)
        return None
    blocker = None if manual else _blocking_postback(postback)
    if blocker is not None:
        # Not an attempt: wait for the earlier postback, which releases this one when it
        # settles. The sweep is the safety net if that message is lost.
        now = timezone.now()
        _release(postback, next_attempt_at=max(blocker.next_attempt_at or now, now))
        return None

    destination = None
    if throttle and trigger.delivery_method == Trigger.DeliveryMethod.WEBHOOK:
        wait = throttling.rate_limit_wait(trigger)
        destination = throttling.destination_key(trigger.url)
        if wait or not throttling.acquire_slot(destination, postback.pk):
            # Not an attempt: the postback waits its turn in the queue.
            _release(postback)
            enqueue(
                [postback.pk],
                countdown=wait or settings.POSTBACKS_DESTINATION_WAIT,
                manual=manual,
                retry=postback.attempt_count > 0,
            )
            return None
    try:
        return _attempt(postback, manual=manual)
    finally:
        if destination is not None:
            throttling.release_slot(destination, postback.pk)


def _attempt(postback: Postback, *, manual: bool) -> DeliveryAttempt:
    trigger = postback.trigger
    now = timezone.now()
    attempt = DeliveryAttempt(
        postback=postback,
        number=postback.attempt_count + 1,
        kind=DeliveryAttempt.Kind.MANUAL if manual else DeliveryAttempt.Kind.SCHEDULED,
        started_at=now,
    )
    message = _rendered_message(postback)
    if isinstance(message, str):
        result = TransportResult(delivered=False, temporary=False, error=message)
        attempt.destination = trigger.url or trigger.email_recipients
    elif trigger.delivery_method == Trigger.DeliveryMethod.WEBHOOK:
        request = envelopes.webhook_request(postback, message, now)
        attempt.destination, attempt.request_method = request.url, request.method
        attempt.request_headers = envelopes.masked_headers(trigger, request.headers)
        attempt.request_body = message.body
        result = send_webhook(request)
    else:
        workspace = WorkspaceSettings.load()
        email = envelopes.email_request(postback, message, workspace)
        attempt.destination = ", ".join(email.to) or trigger.email_recipients
        attempt.request_headers = {
            "From": email.from_email,
            "To": ", ".join(email.to),
            "Subject": email.subject,
            **email.headers,
        }
        attempt.request_body = email.body
        result = send_email(email, envelopes.email_connection(workspace))
    _record(postback, attempt, result, manual=manual, rendered=not isinstance(message, str))
    return attempt


def _rendered_message(postback: Postback) -> RenderedMessage | str:
    """The message this postback sends, rendered once and then reused by every retry.

    Returns the render errors as text when the template cannot produce it.
    """
    if postback.rendered_at is None:
        trigger = postback.trigger
        result = render_template(
            trigger.template, postback.event_data, customer_id=trigger.customer_id
        )
        if not result.ok:
            return f"The template could not be rendered: {result.error_text()}"
        rendered = result.message
        postback.content_type, postback.body = rendered.content_type, rendered.body
        postback.subject, postback.html_body = rendered.subject, rendered.html_body
        postback.rendered_at = timezone.now()
    return RenderedMessage(
        content_type=postback.content_type,
        body=postback.body,
        subject=postback.subject,
        html_body=postback.html_body,
    )


def _next_wait(postback: Postback, result: TransportResult, *, manual: bool) -> float | None:
    """Seconds until the next scheduled attempt, or None if this failure is final."""
    if manual or not result.temporary or not postback.trigger.retry_on_failure:
        return None
    scheduled = postback.attempts.filter(kind=DeliveryAttempt.Kind.SCHEDULED).count()
    return retry_delay(
        scheduled + 1,
        timed_out=result.timed_out,
        status=result.status,
        retry_after=result.retry_after,
    )


# What an attempt changes on its postback (and the render, kept from the first attempt).
_RECORDED_FIELDS = [
    "status",
    "attempt_count",
    "next_attempt_at",
    "claimed_until",
    "last_error",
    "delivered_at",
    "rendered_at",
    "content_type",
    "subject",
    "body",
    "html_body",
    "updated_at",
]


def _record(
    postback: Postback,
    attempt: DeliveryAttempt,
    result: TransportResult,
    *,
    manual: bool,
    rendered: bool,
) -> None:
    """Store the attempt, move the postback to its next state and keep the trigger's health
    record, in one transaction."""
    now = timezone.now()
    attempt.duration_ms = result.duration_ms
    attempt.remote_address = result.remote_address
    attempt.response_status = result.status
    attempt.response_headers = result.headers
    attempt.response_body = result.body
    attempt.response_truncated = result.truncated
    attempt.error = result.error

    delay = None
    if result.delivered:
        attempt.outcome = DeliveryAttempt.Outcome.SUCCESS
        postback.status = Postback.Status.DELIVERED
        postback.delivered_at = postback.delivered_at or now  # the first delivery, for latency
        postback.next_attempt_at = None
        postback.last_error = ""
    else:
        postback.last_error = result.error
        delay = _next_wait(postback, result, manual=manual)
        if delay is not None:
            attempt.outcome = DeliveryAttempt.Outcome.RETRYABLE
            postback.status = Postback.Status.RETRYING
            postback.next_attempt_at = now + timedelta(seconds=delay)
        else:
            attempt.outcome = DeliveryAttempt.Outcome.PERMANENT
            # A manual resend is one attempt: a postback still on its schedule keeps it, and
            # one delivered before stays delivered.
            if not manual or postback.status not in (
                Postback.Status.RETRYING,
                Postback.Status.DELIVERED,
            ):
                postback.status = Postback.Status.FAILED
                postback.next_attempt_at = None

    postback.attempt_count = attempt.number
    postback.claimed_until = None
    with transaction.atomic():
        attempt.save()
        postback.save(update_fields=_RECORDED_FIELDS)
        # A template error says nothing about the endpoint's health, and tests do not count.
        if rendered and not postback.is_test:
            _update_trigger_health(postback.trigger, result, now)
        if postback.status in SETTLED_STATUSES:
            _release_next_in_line(postback)
        if delay is not None and delay <= settings.POSTBACKS_QUEUE_DELAY_LIMIT:
            transaction.on_commit(partial(enqueue, [postback.pk], countdown=delay, retry=True))
    logger.info(
        "postback %s attempt %s: %s%s",
        postback.pk,
        attempt.number,
        attempt.get_outcome_display(),
        f" ({result.error})" if result.error else "",
        extra={
            "postback_id": postback.pk,
            "webhook_id": envelopes.webhook_id(postback),
            "trigger_id": postback.trigger_id,
            "order_reference": postback.order_reference,
            "event": postback.event,
            "attempt": attempt.number,
            "kind": attempt.kind,
            "outcome": attempt.outcome,
            "response_status": result.status,
            "duration_ms": result.duration_ms,
            "error": result.error,
            "next_attempt_at": postback.next_attempt_at,
        },
    )


def _update_trigger_health(trigger: Trigger, result: TransportResult, now: datetime) -> None:
    if result.delivered:
        if trigger.failing_since is None:
            return  # healthy before, healthy now: nothing to write (the common case)
        change = trigger_services.record_success(trigger.pk)
        detail = "A delivery succeeded again; the trigger is healthy."
    elif result.status == 410:
        reason = (
            "Deactivated automatically: the receiver answered 410 Gone, which means the "
            "endpoint no longer exists. Fix the URL and activate the trigger again."
        )
        deactivated = trigger_services.deactivate(trigger.pk, reason, now)
        change, detail = (HealthChange.DEACTIVATED if deactivated else None), reason
    else:
        change = trigger_services.record_failure(trigger.pk, now)
        detail = f"Last error: {result.error}"
        if change is HealthChange.DEACTIVATED:
            trigger.refresh_from_db(fields=["deactivation_reason"])
            detail = f"{trigger.deactivation_reason}\n{detail}"
    if change is not None:
        alert_health_change(trigger, change, detail)
