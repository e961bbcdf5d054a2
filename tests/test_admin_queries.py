"""Admin pages do a fixed number of queries whatever the number of rows, and the overview's
figures follow their published definitions."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Order
from delivery.models import DeliveryAttempt, Postback
from delivery.selectors import overview
from templates_app.models import LookupEntry, LookupTable, Template
from triggers.models import Trigger

from .factories import make_customer, make_template, make_trigger

pytestmark = pytest.mark.django_db


def build(rows: int) -> dict:
    """``rows`` of everything: customers, each with a trigger, an order, a lookup table and a
    postback with two attempts; all on one customer page and one order page too."""
    template = make_template()
    main = make_customer(name="Main")
    main_order = Order.objects.create(customer=main, reference_id="MAIN")
    now = timezone.now()
    for number in range(rows):
        customer = make_customer()
        trigger = make_trigger(
            customer, url=f"https://example.com/{number}", template=template, name=f"T{number}"
        )
        main_trigger = make_trigger(main, url="https://example.com/main", template=template)
        Order.objects.create(customer=customer, reference_id=f"R{number}")
        table = LookupTable.objects.create(name=f"L{number}", template_field=f"f{number}")
        LookupEntry.objects.create(table=table, key="a", value="b")
        LookupTable.objects.create(name=f"M{number}", customer=main, template_field=f"f{number}")
        make_template(name=f"Template {number} of {rows}")
        for owner, order in ((trigger, None), (main_trigger, main_order)):
            postback = Postback.objects.create(
                trigger=owner,
                order=order,
                order_reference=f"R{number}",
                event="order_shipped",
                event_data={},
                status=Postback.Status.DELIVERED,
                attempt_count=2,
                delivered_at=now,
            )
            for attempt in (1, 2):
                DeliveryAttempt.objects.create(
                    postback=postback,
                    number=attempt,
                    started_at=now,
                    outcome="success",
                    destination=owner.url,
                    request_headers={"A": "b"},
                )
    return {"customer": main, "order": main_order, "postback": postback}


def pages(objects: dict) -> list[str]:
    change = "admin:{}_change"
    return [
        reverse("admin:delivery_postback_changelist"),
        reverse("admin:delivery_postback_changelist") + "?status__exact=delivered&q=R1",
        reverse("admin:delivery_postback_overview"),
        reverse("admin:triggers_trigger_changelist"),
        reverse("admin:customers_customer_changelist"),
        reverse("admin:customers_order_changelist"),
        reverse("admin:templates_app_template_changelist"),
        reverse("admin:templates_app_lookuptable_changelist"),
        reverse(change.format("customers_customer"), args=[objects["customer"].pk]),
        reverse(change.format("customers_order"), args=[objects["order"].pk]),
        reverse(change.format("delivery_postback"), args=[objects["postback"].pk]),
    ]


def queries_per_page(client, objects: dict) -> list[int]:
    counts = []
    for url in pages(objects):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, url
        counts.append(len(captured))
    return counts


def test_admin_pages_do_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    few = queries_per_page(admin_client, build(5))
    Postback.objects.all().delete()
    for model in (Order, Trigger, LookupTable, Customer, Template):
        model.objects.all().delete()
    many = build(50)

    for url, limit in zip(pages(many), few, strict=True):
        with django_assert_max_num_queries(limit):
            assert admin_client.get(url).status_code == 200, url
    assert max(few) <= 20, few


def test_the_log_paginates(admin_client):
    trigger = make_trigger(make_customer(), url="https://example.com/h")
    Postback.objects.bulk_create(
        Postback(trigger=trigger, order_reference=f"P{n}", event="order_shipped", event_data={})
        for n in range(120)
    )

    response = admin_client.get(reverse("admin:delivery_postback_changelist"))

    assert len(response.context["cl"].result_list) == 50
    assert response.context["cl"].paginator.num_pages == 3


def add(trigger, created_ago: timedelta, status: str, latency: float | None = None, **fields):
    now = timezone.now()
    postback = Postback.objects.create(
        trigger=trigger,
        event="order_shipped",
        event_data={},
        status=status,
        attempt_count=fields.pop("attempt_count", 1),
        **fields,
    )
    created = now - created_ago
    delivered = created + timedelta(seconds=latency) if latency is not None else None
    Postback.objects.filter(pk=postback.pk).update(created_at=created, delivered_at=delivered)


def test_overview_counts_rates_medians_and_puts_failing_triggers_first(
    admin_client, django_assert_max_num_queries
):
    healthy = make_trigger(make_customer(name="B"), url="https://b.example/h", name="Healthy")
    failing = make_trigger(make_customer(name="A"), url="https://a.example/h", name="Failing")
    gone = make_trigger(make_customer(name="C"), url="https://c.example/h", name="Gone")
    now = timezone.now()
    Trigger.objects.filter(pk=failing.pk).update(failing_since=now - timedelta(hours=2))
    Trigger.objects.filter(pk=gone.pk).update(
        is_active=False, deactivated_at=now, deactivation_reason="The receiver answered 410 Gone"
    )
    hour, day = timedelta(hours=1), timedelta(days=1)
    for seconds in (1, 2, 4, 100):  # median of an even count: mean of the middle two, 3 s
        add(healthy, hour, Postback.Status.DELIVERED, latency=seconds)
    add(healthy, 3 * day, Postback.Status.DELIVERED, latency=7)  # only in the 7 days
    add(healthy, 3 * day, Postback.Status.FAILED)
    add(healthy, 9 * day, Postback.Status.FAILED)  # outside both windows
    add(healthy, hour, Postback.Status.DELIVERED, latency=0.5, is_test=True)  # tests don't count
    add(failing, hour, Postback.Status.RETRYING, last_error="The receiver answered HTTP 503.")
    add(failing, hour, Postback.Status.PENDING, attempt_count=0)

    with django_assert_max_num_queries(6):
        result = overview(now)

    assert [row.trigger.name for row in result.triggers] == ["Gone", "Failing", "Healthy"]
    assert [row.why for row in result.attention] == [
        "The receiver answered 410 Gone",
        "The receiver answered HTTP 503.",
    ]
    day_stats, week_stats = result.triggers[2].windows["day"], result.triggers[2].windows["week"]
    assert (day_stats.sent, day_stats.delivered, day_stats.failed) == (4, 4, 0)
    assert day_stats.success_rate == 100 and day_stats.median_latency == timedelta(seconds=3)
    assert (week_stats.sent, week_stats.delivered, week_stats.failed) == (6, 5, 1)
    assert week_stats.success_rate == pytest.approx(100 * 5 / 6)
    assert week_stats.median_latency == timedelta(seconds=4)
    failing_day = result.triggers[1].windows["day"]
    assert (failing_day.sent, failing_day.retrying, failing_day.success_rate) == (1, 1, None)
    assert result.totals["day"].sent == 5 and result.totals["week"].failed == 1
    day_chart, week_chart = result.charts
    assert sum(bucket.total for bucket in day_chart.buckets) == 6
    assert sum(bucket.delivered for bucket in week_chart.buckets) == 5
    assert len(day_chart.buckets) in (24, 25) and len(week_chart.buckets) in (7, 8)

    content = admin_client.get(reverse("admin:delivery_postback_overview")).content.decode()
    assert content.index("Needs attention") < content.index("Per trigger")
    assert "The receiver answered 410 Gone" in content and "3.0 s" in content
    assert "83.3 %" in content
    assert (
        reverse("admin:delivery_postback_overview") in admin_client.get("/admin/").content.decode()
    )
