"""Sample data for every event, and the activation check that renders it."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from customers.events import Event, order_event_data
from templates_app.models import Template
from templates_app.rendering import render_template
from templates_app.samples import DOC_EXAMPLE_TEMPLATE, sample_event_data
from templates_app.services import render_preview

from .factories import make_customer, make_order

ORDER_EVENTS = [event for event in Event if event.startswith("order_")]


@pytest.mark.django_db
@pytest.mark.parametrize("event", ORDER_EVENTS)
def test_order_samples_carry_every_field_a_real_order_event_has(event):
    real = order_event_data(make_order(make_customer()), event)

    sample = sample_event_data(event)

    assert set(real) <= set(sample)
    assert set(real["customer"]) == set(sample["customer"])
    assert sample["event"] == event
    item = sample["items"][0]
    assert {"referenceId", "sku", "quantity", "metadata", "fulfillments"} <= set(item)
    assert {"shippingAddress", "shipment", "metadata"} <= set(sample)


@pytest.mark.parametrize("event", ["order_shipped", "order_in_transit", "order_delivered"])
def test_shipping_samples_carry_tracking(event):
    (fulfillment,) = sample_event_data(event)["items"][0]["fulfillments"]

    assert set(fulfillment) == {"trackingCode", "trackingUrl", "carrierName", "carrierUid"}


def test_package_status_sample_has_the_documented_shape():
    sample = sample_event_data(Event.PACKAGE_STATUS_UPDATED)

    assert set(sample) == {"customer", "order", "package", "shipment"}
    assert sample["order"]["metadata"] == {"isRush": "False"}
    assert sample["package"]["items"][0]["metadata"]["item-type"] == "product"
    assert sample["shipment"]["tracking"] == {
        "code": "tracking_order_us",
        "url": "http://tracking.com/order_us",
    }


def test_every_event_has_a_sample_that_renders_and_copies_are_independent():
    template = Template(name="t", body="{{ data | tojson }}")
    for event in Event:
        sample = sample_event_data(event)
        sample["changed"] = True
        assert "changed" not in sample_event_data(event)
        body = render_template(template, {"data": sample}).message.body
        assert json.loads(body) == sample
    assert sample_event_data(Event.DELAYED_ORDER)["currentDate"] == "2024-11-29 15:55:12"


def test_unknown_event_is_refused_by_name():
    with pytest.raises(ValueError, match='unknown event "order_lost"'):
        sample_event_data("order_lost")


def test_preview_uses_the_templates_event_pasted_json_or_says_what_is_missing():
    template = Template(name="t", body='{"ref": "{{ orderReferenceId }}"}', event="order_shipped")

    from_sample = render_preview(template)
    from_paste = render_preview(template, data='{"orderReferenceId": "P-1"}')
    bad_paste = render_preview(template, data='{"orderReferenceId": \n"P-1",}')
    not_object = render_preview(template, data="[1]")
    nothing = render_preview(Template(name="t", body="{}"))

    assert json.loads(from_sample.message.body) == {"ref": "NP-2024-11873"}
    assert json.loads(from_paste.message.body) == {"ref": "P-1"}
    assert bad_paste.error_text().startswith("data: the pasted data is not valid JSON")
    assert "(line 2, column 7)" in bad_paste.error_text()
    assert "must be a JSON object" in not_object.error_text()
    assert "choose an event" in nothing.error_text()


def active(body: str, **fields) -> Template:
    return Template(name="t", body=body, event="order_shipped", is_active=True, **fields)


@pytest.mark.django_db
def test_the_documentation_example_can_be_activated():
    active(DOC_EXAMPLE_TEMPLATE).full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"a": "{{ fulfillment.trackingCode }}"}', "undefined names used: fulfillment"),
        ('{"a": {{ orderReferenceId | safe }}}', "not valid JSON"),
        ('{"a": "{{ 1 // 0 }}"}', "integer division or modulo by zero"),
    ],
)
def test_activating_a_template_that_fails_its_events_sample_is_refused(body, words):
    with pytest.raises(ValidationError) as error:
        active(body).full_clean()

    (message,) = error.value.message_dict["body"]
    assert message.startswith('Cannot be active: rendering the sample data of "Order shipped"')
    assert words in message
    inactive = active(body)
    inactive.is_active = False
    inactive.full_clean()


@pytest.mark.django_db
def test_strict_lookup_misses_on_sample_data_do_not_block_activation_but_are_noted():
    template = active('{"sku": "{{ lookups({"productUid": items[0].productUid}) }}"}')

    template.full_clean()
    preview = render_preview(template, lookup_misses_fail=False)

    assert preview.ok
    assert preview.notices == [
        'lookups found no value for productUid: "flat_product_pf_a2_pt_200-gsm-matt_cl_4-0_hor"'
    ]
    assert 'no lookup table for field "productUid"' in render_preview(template).error_text()


def test_benchmark_command_prints_both_rates_and_the_ratio(capsys):
    call_command("benchmark_templates", "--renders", "5", "--items", "3")

    output = capsys.readouterr().out
    assert output.count("renders/s") == 4
    assert output.count("(plain Jinja / ours)") == 2
