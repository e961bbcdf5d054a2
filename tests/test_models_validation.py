"""Bad input is refused with an error that says what is wrong and where."""

import pytest
from django.core.exceptions import ValidationError

from templates_app.models import Template
from templates_app.rendering import render_template
from triggers.models import Trigger

from .factories import make_customer, make_template

pytestmark = pytest.mark.django_db


def test_template_syntax_error_names_the_field_and_line():
    template = Template(name="broken", body='{\n  "a": "{{ orderId }"\n}')

    with pytest.raises(ValidationError) as error:
        template.full_clean()

    (message,) = error.value.message_dict["body"]
    assert message.startswith("Line 2:")


def test_email_template_needs_a_subject():
    template = Template(name="mail", kind=Template.Kind.EMAIL, body="Hello")

    with pytest.raises(ValidationError) as error:
        template.full_clean()

    assert "subject" in error.value.message_dict


def test_invalid_json_output_is_an_error_quoting_line_and_column():
    template = make_template(body='{\n  "ref": "{{ ref }}"\n  "count": {{ count }}\n}')

    result = render_template(template, {"ref": "A-1", "count": 2})

    assert not result.ok
    (problem,) = result.errors
    assert "not valid JSON" in problem.message
    assert "output line 3" in problem.message
    assert "delimiter" in problem.message
    assert """'"count": 2'""" in problem.message


def test_invalid_xml_output_is_an_error():
    template = make_template(format=Template.Format.XML, body="<order><ref>{{ ref }}</order>")

    result = render_template(template, {"ref": "A-1"})

    assert "not valid XML" in result.errors[0].message


def test_undefined_names_are_reported_and_fail_a_strict_render():
    template = make_template(body='{"a": "{{ known }}", "b": "{{ fulfillment.trackingCode }}"}')

    strict = render_template(template, {"known": 1})
    lenient = render_template(template, {"known": 1}, strict_undefined=False)

    assert strict.undefined == lenient.undefined == ["fulfillment.trackingCode"]
    assert not strict.ok and "fulfillment.trackingCode" in strict.error_text()
    assert lenient.ok and lenient.message.body == '{"a": "1", "b": ""}'


def test_runtime_error_names_the_template_line():
    template = make_template(body='{\n"a": {{ 1 // zero }}\n}')

    result = render_template(template, {"zero": 0})

    assert result.errors[0].line == 2


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"url": ""}, "url", "needs the URL"),
        ({"url": "ftp://example.com/x"}, "url", "http:// or https://"),
        (
            {"delivery_method": "email", "email_recipients": "a@example.com, nope"},
            "email_recipients",
            '"nope" is not a valid email address',
        ),
        ({"delivery_method": "email", "email_recipients": " , "}, "email_recipients", "at least"),
    ],
)
def test_trigger_destination_is_validated(fields, field, words):
    trigger = Trigger(
        customer=make_customer(), name="t", event="order_shipped", template=make_template()
    )
    for name, value in fields.items():
        setattr(trigger, name, value)

    with pytest.raises(ValidationError) as error:
        trigger.full_clean()

    assert words in " ".join(error.value.message_dict[field])


def test_trigger_template_must_match_its_delivery_method():
    email_template = make_template(kind=Template.Kind.EMAIL, subject="s", body="b")
    trigger = Trigger(
        customer=make_customer(),
        name="t",
        event="order_shipped",
        template=email_template,
        url="https://example.com/hook",
    )

    with pytest.raises(ValidationError) as error:
        trigger.full_clean()

    assert "needs a webhook template" in error.value.message_dict["template"][0]
