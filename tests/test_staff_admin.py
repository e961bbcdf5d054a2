"""What PSP staff do in admin: triggers from the customer page, Send test, activation,
secrets, the delivery log, Resend and Retry failed, and a read-only Viewer."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from customers.events import OrderStatus
from delivery.models import DeliveryAttempt, Postback, WorkspaceSettings
from templates_app.models import Template
from triggers.models import Trigger

from .factories import make_customer, make_order, make_template, make_trigger

pytestmark = pytest.mark.django_db

SAMPLE = '{"ref": "{{ orderReferenceId }}", "status": "{{ fulfillmentStatus }}"}'
API_KEY = "key-0123456789-abcdef-WXYZ"
TOKEN = "bearer-token-1234567890"


def change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def trigger_with_secrets(url: str = "https://example.com/hook", headers: str = "") -> Trigger:
    return make_trigger(
        make_customer(),
        url=url,
        auth_type="bearer",
        auth_secret=TOKEN,
        custom_headers=headers or f"X-Api-Key: {API_KEY}",
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def viewer(client, django_user_model):
    """A staff user in the Viewer group the migration creates: view permissions only."""
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(user)
    return client


def customer_form(customer, **new_trigger) -> dict:
    """What the customer page posts: the customer, no changed rows, one new trigger."""
    data = {
        "name": customer.name,
        "reference_id": customer.reference_id,
        "contact_email": "",
        "is_active": "on",
        "triggers-TOTAL_FORMS": "0",
        "triggers-INITIAL_FORMS": "0",
        "new_triggers-TOTAL_FORMS": "1",
        "new_triggers-INITIAL_FORMS": "0",
        "lookup_tables-TOTAL_FORMS": "0",
        "lookup_tables-INITIAL_FORMS": "0",
    }
    data.update({f"new_triggers-0-{name}": value for name, value in new_trigger.items()})
    return data


# --- the customer page ------------------------------------------------------------------------


def test_customer_page_lists_triggers_lookup_tables_and_recent_postbacks(admin_client, receiver):
    customer = make_customer(name="Nordlys")
    trigger = make_trigger(customer, url=receiver.url(), name="Shipped hook")
    customer.lookup_tables.create(name="Carriers", template_field="carrier")
    make_order(customer, reference_id="NP-1", status=OrderStatus.SHIPPED)

    content = admin_client.get(change_url(customer)).content.decode()

    assert 'data-tab="triggers"' in content and 'id="recent-postbacks"' in content
    assert "Shipped hook" in content and change_url(trigger) in content
    assert 'id="new_triggers-group"' in content  # adding one, here
    assert "Carriers" in content
    assert "NP-1" in content and "?trigger__customer__id__exact=" in content


def test_a_trigger_added_on_the_customer_page_starts_inactive_and_shows_its_secret_once(
    admin_client, receiver
):
    customer = make_customer()
    template = make_template(body=SAMPLE)

    response = admin_client.post(
        change_url(customer),
        customer_form(
            customer,
            name="Ship notice",
            event="order_shipped",
            template=template.pk,
            delivery_method="webhook",
            url=receiver.url(),
        ),
    )

    trigger = Trigger.objects.get(customer=customer)
    assert trigger.name == "Ship notice" and not trigger.is_active
    content = response.content.decode()
    assert response.status_code == 200 and trigger.signing_secret in content
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    assert change_url(customer) in content  # Continue
    page = admin_client.get(change_url(trigger)).content.decode()
    assert trigger.signing_secret not in page
    assert f"whsec_…{trigger.signing_secret[-4:]}" in page


def test_a_bad_new_trigger_on_the_customer_page_is_refused_with_the_reason(admin_client):
    customer = make_customer()
    email_template = make_template(kind="email", subject="Hi", body="Hello")

    response = admin_client.post(
        change_url(customer),
        customer_form(
            customer,
            name="x",
            event="order_shipped",
            template=email_template.pk,
            delivery_method="webhook",
            url="",
        ),
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "A webhook trigger needs the URL" in content
    assert not Trigger.objects.exists()


# --- the trigger page -------------------------------------------------------------------------


def test_send_test_shows_the_attempt_on_the_trigger_page(admin_client, receiver):
    receiver.reply_with(202)
    trigger = make_trigger(make_customer(), url=receiver.url(), template=make_template(body=SAMPLE))
    page = admin_client.get(change_url(trigger)).content.decode()
    send_test = reverse("admin:triggers_trigger_send_test", args=[trigger.pk])
    assert send_test in page and "No test sent yet" in page

    response = admin_client.post(send_test, follow=True)

    assert len(receiver.received) == 1
    content = response.content.decode()
    assert "Test sent: delivered." in messages_of(response)
    assert "HTTP status <strong>202</strong>" in content
    assert re.search(r"in \d+ ms", content)
    assert admin_client.get(send_test).status_code == 405  # it changes things: POST only


def test_send_test_failure_shows_the_error(admin_client, receiver):
    receiver.reply_with(500)
    trigger = make_trigger(make_customer(), url=receiver.url())

    response = admin_client.post(
        reverse("admin:triggers_trigger_send_test", args=[trigger.pk]), follow=True
    )

    assert "The receiver answered HTTP 500." in response.content.decode()
    assert "Test sent: failed." in messages_of(response)


def test_activation_is_refused_and_explained_then_granted(admin_client):
    broken = make_template(body='{"x": "{{ notInTheData }}"}')
    trigger = make_trigger(
        make_customer(), url="https://example.com/hook", template=broken, is_active=False
    )
    activate = reverse("admin:triggers_trigger_activate", args=[trigger.pk])

    refused = admin_client.post(activate, follow=True)

    (message,) = messages_of(refused)
    assert "was not activated" in message and "notInTheData" in message
    assert not Trigger.objects.get(pk=trigger.pk).is_active

    Template.objects.filter(pk=broken.pk).update(body=SAMPLE)
    granted = admin_client.post(activate, follow=True)
    assert messages_of(granted) == ["1 trigger activated."]
    assert Trigger.objects.get(pk=trigger.pk).is_active
    deactivate = reverse("admin:triggers_trigger_deactivate", args=[trigger.pk])
    assert deactivate in granted.content.decode()
    admin_client.post(deactivate)
    assert not Trigger.objects.get(pk=trigger.pk).is_active


def check_activation_actions(client, model, good, bad, refusal: str) -> None:
    """Activate a good and a bad one from the list: the bad one is refused, saying why."""
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    response = client.post(
        changelist,
        {"action": "activate_selected", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )

    shown = messages_of(response)
    assert any(f"“{bad}” was not activated" in text and refusal in text for text in shown), shown
    assert model.objects.get(pk=good.pk).is_active
    assert not model.objects.get(pk=bad.pk).is_active
    client.post(changelist, {"action": "deactivate_selected", "_selected_action": [good.pk]})
    assert not model.objects.get(pk=good.pk).is_active


def test_activate_and_deactivate_actions_on_the_trigger_list(admin_client):
    good = make_trigger(
        make_customer(),
        url="https://example.com/a",
        template=make_template(body=SAMPLE),
        is_active=False,
    )
    bad = make_trigger(make_customer(), url="https://example.com/b", is_active=False)
    Template.objects.filter(pk=bad.template_id).update(body='{"x": "{{ missing }}"}')

    check_activation_actions(admin_client, Trigger, good, bad, "missing")


def trigger_form(trigger, **fields) -> dict:
    data = {
        "customer": trigger.customer_id,
        "name": trigger.name,
        "event": trigger.event,
        "template": trigger.template_id,
        "delivery_method": "webhook",
        "url": trigger.url,
        "http_method": "POST",
        "email_recipients": "",
        "retry_on_failure": "on",
        "auth_type": trigger.auth_type,
        "auth_username": trigger.auth_username,
        "auth_secret": "",
        "custom_headers": "",
    }
    data.update(fields)
    return data


def test_secrets_are_write_only_and_kept_when_left_empty(admin_client):
    trigger = trigger_with_secrets(headers=f"X-Api-Key: {API_KEY}\nX-Short: abc")

    page = admin_client.get(change_url(trigger)).content.decode()
    for secret in (TOKEN, API_KEY, "abc\n", trigger.signing_secret):
        assert secret not in page
    assert "X-Api-Key: ****WXYZ, X-Short: ****" in page

    response = admin_client.post(change_url(trigger), trigger_form(trigger, name="Renamed"))
    assert response.status_code == 302
    trigger.refresh_from_db()
    assert trigger.name == "Renamed"
    assert trigger.auth_secret == TOKEN
    assert trigger.custom_headers == f"X-Api-Key: {API_KEY}\nX-Short: abc"

    admin_client.post(
        change_url(trigger),
        trigger_form(trigger, auth_secret="new-token", remove_custom_headers="on"),
    )
    trigger.refresh_from_db()
    assert trigger.auth_secret == "new-token" and trigger.custom_headers == ""
    admin_client.post(change_url(trigger), trigger_form(trigger, auth_type="none"))
    trigger.refresh_from_db()
    assert trigger.auth_secret == ""


def test_an_active_trigger_cannot_be_edited_into_one_that_would_not_send(admin_client):
    trigger = make_trigger(
        make_customer(), url="https://example.com/hook", template=make_template(body=SAMPLE)
    )
    broken = make_template(body='{"x": "{{ notInTheData }}"}', is_active=False)

    response = admin_client.post(change_url(trigger), trigger_form(trigger, template=broken.pk))

    assert response.status_code == 200
    content = response.content.decode()
    assert "This trigger is active, so it must pass" in content and "is inactive" in content
    assert Trigger.objects.get(pk=trigger.pk).template_id != broken.pk


def test_a_trigger_created_on_its_own_page_starts_inactive_and_shows_its_secret(admin_client):
    customer = make_customer()
    template = make_template(body=SAMPLE)
    data = trigger_form(
        Trigger(customer=customer, template=template, name="New", event="order_shipped"),
        url="https://example.com/hook",
    )

    response = admin_client.post(reverse("admin:triggers_trigger_add"), data)

    trigger = Trigger.objects.get()
    assert not trigger.is_active
    assert trigger.signing_secret in response.content.decode()
    assert "max-age=0" in response["Cache-Control"]


def test_rotate_shows_the_new_secret_once(admin_client):
    trigger = make_trigger(make_customer(), url="https://example.com/hook")
    old = trigger.signing_secret

    response = admin_client.post(reverse("admin:triggers_trigger_rotate_secret", args=[trigger.pk]))

    trigger.refresh_from_db()
    assert trigger.signing_secret != old and trigger.previous_signing_secret == old
    content = response.content.decode()
    assert trigger.signing_secret in content and old not in content
    assert "The previous secret keeps signing too until" in content
    assert trigger.signing_secret not in admin_client.get(change_url(trigger)).content.decode()


def test_trigger_page_shows_its_health(admin_client):
    now = timezone.now()
    trigger = make_trigger(make_customer(), url="https://example.com/hook", is_active=False)
    Trigger.objects.filter(pk=trigger.pk).update(
        failing_since=timezone.make_aware(datetime(2026, 1, 2, 3, 4)),
        deactivated_at=now,
        deactivation_reason="Deactivated automatically: the receiver answered 410 Gone",
    )

    content = admin_client.get(change_url(trigger)).content.decode()

    assert "Status and health" in content
    assert "the receiver answered 410 Gone" in content
    assert "Jan. 2, 2026, 3:04 a.m." in content  # failing since


def test_template_actions_refuse_a_template_that_fails_its_sample(admin_client):
    good = make_template(body=SAMPLE, is_active=False, event="order_shipped")
    bad = make_template(body='{"x": "{{ nope }}"}', is_active=False, event="order_shipped")

    check_activation_actions(admin_client, Template, good, bad, "Cannot be active")


# --- the delivery log -------------------------------------------------------------------------


def logged_postback(trigger, reference: str, status=Postback.Status.DELIVERED, **fields):
    return Postback.objects.create(
        trigger=trigger,
        order_reference=reference,
        event=fields.pop("event", "order_shipped"),
        event_data={},
        status=status,
        **fields,
    )


def references(response) -> set[str]:
    return {postback.order_reference for postback in response.context["cl"].result_list}


def test_delivery_log_filters_and_search(admin_client):
    acme, other = make_customer(name="Acme"), make_customer(name="Other")
    acme_trigger, other_trigger = (
        make_trigger(acme, url="https://a.example/h"),
        make_trigger(other, url="https://o.example/h"),
    )
    old = logged_postback(acme_trigger, "OLD-1", status=Postback.Status.FAILED)
    Postback.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    logged_postback(acme_trigger, "NEW-1", event="order_delivered")
    found = logged_postback(other_trigger, "NEW-2", status=Postback.Status.RETRYING)
    log = reverse("admin:delivery_postback_changelist")
    today = timezone.localdate()

    def get(**params):
        response = admin_client.get(log, params)
        assert response.status_code == 200
        return references(response)

    assert get() == {"OLD-1", "NEW-1", "NEW-2"}
    assert get(status__exact="failed") == {"OLD-1"}
    assert get(event__exact="order_delivered") == {"NEW-1"}
    assert get(trigger__customer__id__exact=acme.pk) == {"OLD-1", "NEW-1"}
    assert get(trigger__id__exact=other_trigger.pk) == {"NEW-2"}
    assert get(created_at__from=str(today - timedelta(days=1))) == {"NEW-1", "NEW-2"}
    assert get(created_at__to=str(today - timedelta(days=2))) == {"OLD-1"}
    assert get(q="NEW-2") == {"NEW-2"}
    assert get(q="NEW") == set()  # exact references, on the index
    assert get(q=f"msg_{found.public_id.hex}") == {"NEW-2"}
    assert admin_client.get(log, {"created_at__from": "yesterday"}).status_code == 302


def test_postback_page_shows_attempts_side_by_side_with_secrets_masked(admin_client, receiver):
    trigger = trigger_with_secrets(url=receiver.url())
    receiver.reply_with(500, then=200)
    order = make_order(trigger.customer, status=OrderStatus.SHIPPED)
    postback = Postback.objects.get()
    from delivery.services import deliver

    deliver(postback.pk, manual=True)
    deliver(postback.pk, manual=True)

    content = admin_client.get(change_url(postback)).content.decode()

    assert "Attempts (2)" in content
    assert content.count('class="side-by-side"') == 2
    assert "Request sent" in content and "Response received" in content
    assert "Status <strong>500</strong>" in content and "Status <strong>200</strong>" in content
    assert "Authorization: Bearer ****" in content and "X-Api-Key: ****WXYZ" in content
    assert API_KEY not in content and TOKEN not in content
    assert order.reference_id in admin_client.get(change_url(order)).content.decode()


def test_resend_button_and_retry_failed_action(admin_client, published):
    trigger = make_trigger(make_customer(), url="https://example.com/hook")
    failed = logged_postback(trigger, "F-1", status=Postback.Status.FAILED)
    delivered = logged_postback(trigger, "D-1")
    resend = reverse("admin:delivery_postback_resend", args=[delivered.pk])
    assert resend in admin_client.get(change_url(delivered)).content.decode()

    response = admin_client.post(resend, follow=True)

    assert published == [(delivered.pk, True)]
    assert "Queued for one more attempt" in messages_of(response)[0]
    published.clear()
    response = admin_client.post(
        reverse("admin:delivery_postback_changelist"),
        {"action": "retry_failed", "_selected_action": [failed.pk, delivered.pk]},
        follow=True,
    )
    assert published == [(failed.pk, True)]
    assert messages_of(response) == [
        "Queued 1 failed postback(s) for one more attempt. "
        "1 selected postback(s) had not failed and were left alone."
    ]


# --- the read-only role -----------------------------------------------------------------------


def test_viewer_browses_the_log_but_cannot_resend_or_change_triggers(viewer, published):
    trigger = trigger_with_secrets()
    postback = logged_postback(trigger, "V-1", status=Postback.Status.FAILED)
    log = reverse("admin:delivery_postback_changelist")

    listing = viewer.get(log)
    assert listing.status_code == 200 and references(listing) == {"V-1"}
    assert "retry_failed" not in listing.content.decode()
    page = viewer.get(change_url(postback)).content.decode()
    assert "Attempts (0)" in page
    assert reverse("admin:delivery_postback_resend", args=[postback.pk]) not in page
    assert viewer.get(reverse("admin:delivery_postback_overview")).status_code == 200

    assert (
        viewer.post(reverse("admin:delivery_postback_resend", args=[postback.pk])).status_code
        == 403
    )
    viewer.post(log, {"action": "retry_failed", "_selected_action": [postback.pk]})
    assert published == []

    trigger_page = viewer.get(change_url(trigger)).content.decode()
    for secret in (TOKEN, API_KEY, trigger.signing_secret):
        assert secret not in trigger_page
    assert "**** (set)" in trigger_page and "X-Api-Key: ****WXYZ" in trigger_page
    assert "Send test" not in trigger_page and "Rotate signing secret" not in trigger_page
    for name in ("send_test", "activate", "deactivate", "rotate_secret"):
        url = reverse(f"admin:triggers_trigger_{name}", args=[trigger.pk])
        assert url not in trigger_page
        assert viewer.post(url).status_code == 403, name
    assert viewer.post(change_url(trigger), trigger_form(trigger, name="x")).status_code == 403
    assert Trigger.objects.get(pk=trigger.pk).name == trigger.name
    assert not DeliveryAttempt.objects.exists()


def test_viewer_does_not_see_the_smtp_password(viewer):
    workspace = WorkspaceSettings.load()
    workspace.smtp_password = "s3cret-password"
    workspace.save()

    page = viewer.get(change_url(workspace)).content.decode()

    assert "s3cret-password" not in page and "**** (set)" in page
