"""lookups() in templates, and lookup tables loaded from and saved to CSV."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from templates_app.models import LookupEntry, LookupTable, Template
from templates_app.rendering import render_template
from templates_app.services import export_lookup_csv, import_lookup_csv

from .factories import make_customer

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


def table(customer=None, field="shipmentMethodUid", **rows) -> LookupTable:
    lookup_table = LookupTable.objects.create(
        name=f"{field} of {customer}", customer=customer, template_field=field
    )
    LookupEntry.objects.bulk_create(
        LookupEntry(table=lookup_table, key=key, value=value) for key, value in rows.items()
    )
    return lookup_table


def render(body: str, data: dict, customer=None):
    template = Template(name="t", body=body)
    return render_template(template, data, customer_id=customer.pk if customer else None)


def test_documented_lookup_call_finds_the_customers_value():
    customer = make_customer()
    table(customer, ups_standard="UPS Standard")
    carrier_call = (FIXTURES / "lookup-carrier.jinja").read_text().strip()
    body = "{% for fulfillment in fulfillments %}{\n" + carrier_call + "\n}{% endfor %}"

    result = render(body, {"fulfillments": [{"carrierUid": "ups_standard"}]}, customer)

    assert result.ok, result.error_text()
    assert json.loads(result.message.body) == {"carrier": "UPS Standard"}


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ('lookups({"shipmentMethodUid": "dhl"}, strict=False)', ""),
        ('lookups({"shipmentMethodUid": "dhl"}, strict=False, default="Other")', "Other"),
        ('lookups({"shipmentMethodUid": "ups"})', "UPS"),
    ],
)
def test_lookup_hit_and_non_strict_miss(call, expected):
    customer = make_customer()
    table(customer, ups="UPS")

    result = render(f'{{"carrier": "{{{{ {call} }}}}"}}', {}, customer)

    assert result.ok, result.error_text()
    assert json.loads(result.message.body)["carrier"] == expected


def test_strict_miss_is_an_error_naming_field_key_and_line():
    customer = make_customer()
    table(customer, ups="UPS")

    result = render('{\n"c": "{{ lookups({"shipmentMethodUid": "dhl"}) }}"\n}', {}, customer)

    (problem,) = result.errors
    assert problem.message == 'lookup table "shipmentMethodUid" has no entry for key "dhl"'
    assert problem.line == 2


def test_strict_lookup_without_any_table_says_so():
    result = render('{"c": "{{ lookups({"productUid": "x"}) }}"}', {})

    assert 'no lookup table for field "productUid"' in result.error_text()


def test_customer_rows_win_over_workspace_rows_and_other_customers_are_ignored():
    customer, other = make_customer(), make_customer()
    table(None, ups="Workspace UPS", dhl="Workspace DHL")
    table(customer, ups="Customer UPS")
    table(other, dhl="Other's DHL")
    body = (
        '{"ups": "{{ lookups({"shipmentMethodUid": "ups"}) }}", '
        '"dhl": "{{ lookups({"shipmentMethodUid": "dhl"}) }}"}'
    )

    result = render(body, {}, customer)

    assert json.loads(result.message.body) == {"ups": "Customer UPS", "dhl": "Workspace DHL"}


def test_a_render_reads_each_lookup_table_once(django_assert_num_queries):
    customer = make_customer()
    table(customer, ups="UPS", dhl="DHL")
    table(customer, field="productUid", poster="POSTER-A2")
    items = [{"carrier": code, "product": "poster"} for code in ["ups", "dhl"] * 10]
    body = (
        "[{% for item in items %}"
        '{"carrier": "{{ lookups({"shipmentMethodUid": item.carrier}) }}", '
        '"sku": "{{ lookups({"productUid": item.product}) }}", '
        '"other": "{{ lookups({"shipmentMethodUid": "none"}, strict=False) }}"}'
        "{{ ',' if not loop.last }}{% endfor %}]"
    )

    with django_assert_num_queries(2):
        result = render(body, {"items": items}, customer)

    assert result.ok, result.error_text()
    assert [row["carrier"] for row in json.loads(result.message.body)[:2]] == ["UPS", "DHL"]


def test_csv_import_reads_header_separators_and_spreadsheet_encoding():
    lookup_table = table(make_customer(), old="kept?")
    content = '\ufeffKey;Value\nups_standard;UPS Standard\n\ndhl;"DHL; Express"\n'.encode()

    count = import_lookup_csv(lookup_table, content)

    assert count == 2
    assert dict(lookup_table.entries.values_list("key", "value")) == {
        "ups_standard": "UPS Standard",
        "dhl": "DHL; Express",
    }


def test_csv_import_without_replace_updates_and_keeps_other_rows():
    lookup_table = table(make_customer(), ups="Old UPS", fedex="FedEx")

    import_lookup_csv(lookup_table, b"ups,New UPS\ndhl,DHL\n", replace=False)

    assert dict(lookup_table.entries.values_list("key", "value")) == {
        "ups": "New UPS",
        "fedex": "FedEx",
        "dhl": "DHL",
    }


def test_csv_import_with_bad_rows_imports_nothing_and_names_every_bad_line():
    lookup_table = table(make_customer(), ups="UPS")
    content = b"key,value\nups,UPS 2\n,empty key\nthree,columns,here\nups,again\nok,fine\n"

    with pytest.raises(ValidationError) as error:
        import_lookup_csv(lookup_table, content)

    (message,) = error.value.messages
    assert message == (
        "Nothing was imported. line 3: the key is empty; "
        "line 4: expected 2 columns (key, value), found 3; "
        'line 5: key "ups" is already on line 2.'
    )
    assert dict(lookup_table.entries.values_list("key", "value")) == {"ups": "UPS"}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfeu\x00p\x00", "not UTF-8 text"),
        (b"key,value\n", "has no key,value rows"),
        (b'a,"unclosed\n', "line 1"),
    ],
)
def test_csv_import_refuses_unreadable_files(content, words):
    with pytest.raises(ValidationError) as error:
        import_lookup_csv(table(make_customer()), content)

    assert words in " ".join(error.value.messages)


def test_csv_export_round_trips():
    source = table(make_customer(), b="two, with comma", a='one "quoted"')
    copy = table(make_customer())

    exported = export_lookup_csv(source)
    import_lookup_csv(copy, exported.encode())

    assert exported.splitlines()[0] == "key,value"
    assert list(copy.entries.values_list("key", "value")) == list(
        source.entries.values_list("key", "value")
    )
