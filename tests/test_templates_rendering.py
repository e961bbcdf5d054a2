"""Rendering: the documentation's templates, escaping per format, helpers and settings."""

import json
from pathlib import Path

import pytest
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st

from customers.events import Event
from templates_app.models import Template
from templates_app.rendering import compile_part, part_format, render_template, syntax_errors
from templates_app.samples import DOC_EXAMPLE_TEMPLATE, sample_event_data

FIXTURES = Path(__file__).parent / "fixtures"
NASTY = 'Bob\'s "big" <order> \\ & co\n🎉 ]]> </name> {{ x }}'


def webhook(body: str, output_format: str = Template.Format.JSON, **fields) -> Template:
    return Template(name="t", kind=Template.Kind.WEBHOOK, format=output_format, body=body, **fields)


def test_documentation_example_renders_the_shipped_sample_to_valid_json():
    sample = sample_event_data(Event.ORDER_SHIPPED)

    result = render_template(webhook(DOC_EXAMPLE_TEMPLATE), sample)

    assert result.ok, result.error_text()
    assert result.notices == [] and result.undefined == []
    body = json.loads(result.message.body)
    (fulfillment,) = sample["items"][0]["fulfillments"]
    assert body["orderReferenceId"] == sample["orderReferenceId"]
    assert body["status"] == "shipped"
    assert body["trackingInfo"] == {
        "trackingCode": fulfillment["trackingCode"],
        "trackingUrl": fulfillment["trackingUrl"],
        "carrier": fulfillment["carrierName"],
    }
    assert result.message.content_type == "application/json"


def test_translated_copy_gets_a_notice_and_its_renamed_loop_variable_is_reported():
    translated = (FIXTURES / "order-shipped.translated.jinja").read_text()
    sample = sample_event_data(Event.ORDER_SHIPPED)

    strict = render_template(webhook(translated), sample)
    lenient = render_template(webhook(translated, strict_undefined=False), sample)

    (notice,) = strict.notices
    assert '"##{{"' in notice and "line(s) 1" in notice and notice.startswith("body:")
    assert strict.undefined == [
        "fulfillment.carrierName",
        "fulfillment.trackingCode",
        "fulfillment.trackingUrl",
        "produksjonStatus",
    ]
    assert not strict.ok and "undefined names used: fulfillment.carrierName" in strict.error_text()
    # Read as {{ }}: the known names render, the undefined ones are empty.
    assert lenient.ok, lenient.error_text()
    body = json.loads(lenient.message.body)
    assert body["orderId"] == sample["orderId"] and body["status"] == ""


def test_json_values_are_escaped_inside_strings_and_bare_outside():
    template = webhook(
        '{"name": "{{ name }}", "count": {{ count }}, "price": {{ price }}, '
        '"rush": {{ rush }}, "note": {{ note }}, "meta": {{ meta | tojson }}, '
        '"raw": {{ raw | safe }}, "tags": "{{ tags }}"}'
    )
    data = {
        "name": NASTY,
        "count": 3,
        "price": 9.5,
        "rush": False,
        "note": None,
        "meta": {"a": NASTY},
        "raw": '{"x": 1}',
        "tags": ["a", "b"],
    }

    result = render_template(template, data)

    assert result.ok, result.error_text()
    # Lists and objects printed as text are their JSON, inside the string.
    assert json.loads(result.message.body) == {**data, "raw": {"x": 1}, "tags": '["a", "b"]'}


def test_xml_values_are_escaped_in_text_and_attributes():
    template = webhook(
        '<order ref="{{ name }}"><name>{{ name }}</name><raw>{{ raw | safe }}</raw>'
        "<json>{{ meta | tojson }}</json><nothing>{{ none }}</nothing></order>",
        Template.Format.XML,
    )

    result = render_template(template, {"name": NASTY, "raw": "<b>x</b>", "meta": {"k": "<&>"}})

    assert result.ok, result.error_text()
    root = ElementTree.fromstring(result.message.body)
    assert root.get("ref") == NASTY.replace("\n", " ")  # attribute values normalise newlines
    assert root.findtext("name") == NASTY
    assert root.find("raw/b").text == "x"
    assert json.loads(root.findtext("json")) == {"k": "<&>"}
    assert root.findtext("nothing") == ""


def test_escaping_filters_count_as_safe_only_in_their_own_format():
    json_template = webhook('{"a": "{{ v | json_escape }}", "b": "{{ v | xml_escape }}"}')
    xml_template = webhook(
        "<r><a>{{ v | json_escape }}</a><b>{{ v | xml_escape }}</b><c>{{ v | e }}</c></r>",
        Template.Format.XML,
    )
    value = '<"&">'

    json_body = json.loads(render_template(json_template, {"v": value}).message.body)
    xml_root = ElementTree.fromstring(render_template(xml_template, {"v": value}).message.body)

    assert json_body == {"a": value, "b": "&lt;&quot;&amp;&quot;&gt;"}
    assert xml_root.findtext("a") == '<\\"&\\">'
    assert xml_root.findtext("b") == value and xml_root.findtext("c") == value


def test_email_html_body_is_html_escaped_and_text_parts_are_not():
    template = Template(
        name="mail",
        kind=Template.Kind.EMAIL,
        subject="Order {{ ref }}\nshipped",
        body="Hello {{ name }}",
        html_body="<p>Hello {{ name }}</p>{{ sig | safe }}",
    )

    result = render_template(template, {"ref": "A&B", "name": NASTY, "sig": "<hr>"})

    assert result.ok, result.error_text()
    message = result.message
    assert message.subject == "Order A&B shipped"
    assert message.body == f"Hello {NASTY}"
    assert message.html_body == (
        "<p>Hello Bob&#39;s &#34;big&#34; &lt;order&gt; \\ &amp; co\n🎉 ]]&gt; &lt;/name&gt; "
        "{{ x }}</p><hr>"
    )
    assert message.content_type == "text/plain; charset=utf-8"


# Any text, control characters and lone surrogates included (JSON's \ud800 escapes make them).
any_text = st.text(st.characters(exclude_categories=()))
XML_EXAMPLE = (
    '<order id="{{ orderId }}" status="{{ fulfillmentStatus }}">'
    "<reference>{{ orderReferenceId }}</reference><customer>{{ customer.name }}</customer>"
    "{% for item in items %}{% for fulfillment in item.fulfillments %}"
    '<tracking code="{{ fulfillment.trackingCode }}" url="{{ fulfillment.trackingUrl }}">'
    "{{ fulfillment.carrierName }}</tracking>{% endfor %}{% endfor %}</order>"
)


def render_with_every_field_set_to(text: str, body: str, output_format: str):
    """Render the shipped sample, every value in it (at any depth) replaced by ``text``."""

    def replace(node):
        if isinstance(node, dict):
            return {key: replace(value) for key, value in node.items()}
        if isinstance(node, list):
            return [replace(value) for value in node]
        return text

    data = replace(sample_event_data(Event.ORDER_SHIPPED))
    return render_template(webhook(body, output_format), data)


@settings(max_examples=200, deadline=None)
@given(text=any_text)
def test_any_string_in_any_field_gives_valid_json(text):
    body = DOC_EXAMPLE_TEMPLATE.replace('"event"', '"customer": {{ customer | tojson }}, "event"')

    result = render_with_every_field_set_to(text, body, Template.Format.JSON)

    assert result.ok, result.error_text()
    document = json.loads(result.message.body)
    assert document["orderReferenceId"] == document["trackingInfo"]["carrier"] == text
    assert document["customer"]["name"] == text
    result.message.body.encode("utf-8")  # sendable as it is, even with lone surrogates


@settings(max_examples=200, deadline=None)
@given(text=any_text)
def test_any_string_in_any_field_gives_well_formed_xml(text):
    result = render_with_every_field_set_to(text, XML_EXAMPLE, Template.Format.XML)

    assert result.ok, result.error_text()
    root = ElementTree.fromstring(result.message.body.encode("utf-8"))
    expected = "".join(map(xml_character, text))
    assert (root.findtext("customer") or "") == (root.findtext("tracking") or "") == expected


def xml_character(character: str) -> str:
    """What XML 1.0 can carry of a character: itself, or U+FFFD for the forbidden ones."""
    allowed = character in "\t\n\r" or "\x20" <= character <= "\ud7ff"
    allowed = allowed or "\ue000" <= character <= "\ufffd" or character > "\uffff"
    return character if allowed else "\ufffd"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('format_date(created, tz="Europe/Oslo")', "2024-11-28T10:14:05+01:00"),
        ('created | format_date("%d.%m.%Y %H:%M", "Europe/Oslo")', "28.11.2024 10:14"),
        ('format_date(summer, "%H:%M %Z", tz="Europe/Oslo")', "17:55 CEST"),
        ("format_date(naive)", "2024-11-29T15:55:12+00:00"),
        ('format_date(1732895712, tz="America/New_York")', "2024-11-29T10:55:12-05:00"),
        ('format_date("2024-11-29", "%A %d %B")', "Friday 29 November"),
    ],
)
def test_format_date(expression, expected):
    data = {
        "created": "2024-11-28T09:14:05Z",
        "summer": "2024-06-01T15:55:12+00:00",
        "naive": "2024-11-29 15:55:12",
    }
    template = Template(
        name="t", kind=Template.Kind.EMAIL, subject="s", body=f"{{{{ {expression} }}}}"
    )

    result = render_template(template, data)

    assert result.ok, result.error_text()
    assert result.message.body == expected


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("format_date(x)", "'soon' is not a date or time"),
        ('format_date("2024-11-29", tz="Mars/Olympus")', "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_format_date_refuses_bad_input_naming_the_line(expression, words):
    template = webhook(f'{{\n"a": "{{{{ {expression} }}}}"\n}}')

    result = render_template(template, {"x": "soon"})

    (problem,) = result.errors
    assert words in problem.message and problem.line == 2


def test_default_values():
    template = webhook('{"a": "{{ missing | default("n/a") }}", "b": "{{ empty or "none" }}"}')

    result = render_template(template, {"empty": ""})

    assert result.ok and result.undefined == []
    assert json.loads(result.message.body) == {"a": "n/a", "b": "none"}


@pytest.mark.django_db
def test_render_follows_the_templates_undefined_setting_by_default():
    from .factories import make_template

    strict = make_template(body='{"a": "{{ nope }}"}')
    lenient = make_template(body='{"a": "{{ nope }}"}', strict_undefined=False)

    assert not render_template(strict, {}).ok
    assert render_template(lenient, {}).ok
    assert render_template(lenient, {}, strict_undefined=True).undefined == ["nope"]


def test_compiled_templates_are_cached_by_text_and_an_edit_compiles_anew():
    template = webhook('{"v": "{{ a }}"}')
    fmt = part_format(template, "body")

    first = compile_part(template.body, fmt)
    assert compile_part(template.body, fmt) is first
    template.body = '{"v": "{{ a }}!"}'

    assert compile_part(template.body, fmt) is not first
    assert json.loads(render_template(template, {"a": 1}).message.body) == {"v": "1!"}


def test_unknown_filter_is_a_syntax_error_with_its_line():
    assert syntax_errors('{\n"a": "{{ x | shout }}"\n}') == ["Line 2: No filter named 'shout'."]
