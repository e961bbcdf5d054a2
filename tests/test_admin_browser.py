"""Staff's whole set-up in a real browser: Debian's Chromium driven by Playwright, against a
live server, a real Celery worker and a webhook receiver, all on 127.0.0.1.

Screenshots of the main pages go to test-results/screenshots/ to be looked at.
"""

import os
import re
from pathlib import Path

import pytest

from customers.events import OrderStatus
from delivery.models import Postback
from triggers.models import Trigger

from .factories import make_order
from .waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TEMPLATE_BODY = '{"ref": "{{ orderReferenceId }}", "status": "{{ fulfillmentStatus }}"}'

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def page(monkeypatch):
    from django.db import connection, connections
    from playwright.sync_api import sync_playwright

    # The live server's thread must not keep a database connection open after each request
    # (CONN_MAX_AGE), or the test database cannot be dropped at the end of the run.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # ordinary synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(20_000)
        try:
            yield context.new_page()
        finally:
            browser.close()
            # Close the connections the test's own queries opened: left open, PostgreSQL
            # refuses to drop the test database at the end of the run.
            connections.close_all()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def reload_until(page, text: str, timeout: float = 20.0) -> None:
    """Reload until the page shows ``text``: the worker delivers in the background."""

    def shown() -> bool:
        page.reload()
        return text in page.content()

    wait_until(shown, timeout=timeout, interval=0.5)


def test_staff_set_up_test_activate_and_follow_deliveries(
    page, live_server, celery_worker, receiver, django_user_model
):
    django_user_model.objects.create_superuser("staff", "staff@psp.example", "pw-staff-1")
    base = live_server.url

    # Log in.
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "pw-staff-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#delivery-overview-link")
    shot(page, "01-index")

    # Create a customer.
    page.goto(f"{base}/admin/customers/customer/add/")
    page.fill("#id_name", "Nordlys Prints")
    page.fill("#id_reference_id", "nordlys-prints")
    page.click("input[name=_continue]")
    page.wait_for_selector("text=was added successfully")

    # Add a trigger from the customer page, with a new template made in the "+" popup.
    page.click("#customer-tabs >> text=Triggers")
    page.fill("#id_new_triggers-0-name", "Shipped to Nordlys")
    page.select_option("#id_new_triggers-0-event", "order_shipped")
    page.select_option("#id_new_triggers-0-delivery_method", "webhook")
    page.fill("#id_new_triggers-0-url", receiver.url("/hooks/nordlys"))
    with page.expect_popup() as popup_info:
        page.click("#add_id_new_triggers-0-template")
    popup = popup_info.value
    popup.wait_for_selector("#id_body")
    popup.fill("#id_name", "Shipped (JSON)")
    popup.select_option("#id_event", "order_shipped")
    popup.fill("#id_body", TEMPLATE_BODY)

    # Render it, unsaved, against the event's sample data.
    popup.click("#render-panel button:has-text('Render')")
    output = popup.frame_locator("iframe[name=template-render-output]")
    output.locator("text=Rendered without errors.").wait_for()
    assert '"status": "shipped"' in output.locator("pre").first.inner_text()
    popup.set_viewport_size({"width": 1200, "height": 1400})
    shot(popup, "02-template-render")
    popup.click("input[name=_save]")
    popup.wait_for_event("close")
    assert page.locator("#id_new_triggers-0-template option:checked").inner_text() == (
        "Shipped (JSON)"
    )
    shot(page, "03-customer-add-trigger")
    page.click("input[name=_continue]")

    # The signing secret is shown once.
    secret = page.locator("code.signing-secret").inner_text()
    trigger = Trigger.objects.get(name="Shipped to Nordlys")
    assert secret == trigger.signing_secret and not trigger.is_active
    shot(page, "04-signing-secret")
    page.click("text=Continue")
    page.click("#customer-tabs >> text=Triggers")
    shot(page, "05-customer-triggers-tab")

    # Send a test to the receiver and see the attempt; then activate.
    page.click("#triggers-group >> text=Change")
    page.click("button:has-text('Send test')")
    page.wait_for_selector("text=Test sent: delivered.")
    assert "HTTP status 200" in page.locator("#last-test").inner_text()
    (test_request,) = receiver.received
    assert test_request.path == "/hooks/nordlys"
    assert secret not in page.content()
    page.click("button:has-text('Activate')")
    page.wait_for_selector("text=1 trigger activated.")
    shot(page, "06-trigger-tested-and-active")

    # Change an order's status in admin; the postback shows up in the delivery log.
    order = make_order(trigger.customer, status=OrderStatus.PRODUCED, reference_id="NP-4242")
    page.goto(f"{base}/admin/customers/order/{order.pk}/change/")
    page.select_option("#id_status", "shipped")
    page.click("input[name=_save]")
    page.wait_for_selector("text=was changed successfully")
    receiver.wait_for(2)

    page.goto(f"{base}/admin/delivery/postback/?q=NP-4242")
    reload_until(page, ">Delivered</span>")
    shot(page, "07-delivery-log")
    page.click("#result_list tbody th a >> nth=0")
    page.wait_for_selector("#attempt-1")
    assert "Response received" in page.content()
    postback = Postback.objects.get(order=order)

    # Resend it: one more attempt, shown on the same page.
    page.click("button:has-text('Resend')")
    page.wait_for_selector("text=Queued for one more attempt")
    reload_until(page, 'id="attempt-2"')
    requests = receiver.wait_for(3)
    assert requests[1].headers["webhook-id"] == requests[2].headers["webhook-id"]
    assert re.search(r"Attempts \(2\)", page.content())
    shot(page, "08-postback-attempts")
    assert Postback.objects.get(pk=postback.pk).attempt_count == 2

    # The overview, and the order's own page with its postback.
    page.goto(f"{base}/admin/delivery/postback/overview/")
    page.wait_for_selector("#per-trigger >> text=Shipped to Nordlys")
    shot(page, "09-overview")
    page.goto(f"{base}/admin/customers/order/{order.pk}/change/")
    assert "Shipped" in page.locator("#order-postbacks").inner_text()
    shot(page, "10-order")
    assert os.listdir(SCREENSHOTS)
