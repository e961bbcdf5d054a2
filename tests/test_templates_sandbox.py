"""The sandbox: escapes out of the template are refused, runaway templates are stopped."""

import time

import pytest

from templates_app import sandbox
from templates_app.models import Template
from templates_app.rendering import render_template


def render(body: str, data: dict | None = None):
    template = Template(name="t", kind=Template.Kind.EMAIL, subject="s", body=body)
    return render_template(template, data or {"items": [{"name": "a"}]})


@pytest.mark.parametrize(
    "body",
    [
        '{{ "".__class__.__mro__[1].__subclasses__() }}',
        "{{ items.__class__ }}",
        "{{ lookups.__init__.__globals__ }}",
        "{{ lookups._tables }}",
        "{{ self.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ namespace.__init__.__globals__ }}",
        '{{ "{0.__class__.__base__}".format(1) }}',
        "{{ format_date.__globals__ }}",
        "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    ],
)
def test_walks_to_python_internals_are_refused(body):
    result = render(body)

    assert not result.ok
    assert "unsafe" in result.error_text()


@pytest.mark.parametrize(
    "body",
    [
        "{% include '/etc/passwd' %}",
        "{% import 'os' as os %}",
        "{% extends 'base.html' %}",
        "{{ open('/etc/passwd') }}",
        "{{ __import__('os') }}",
    ],
)
def test_no_file_or_module_access(body):
    result = render(body)

    assert not result.ok
    assert "passwd" not in (result.message.body if result.message else "")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            "{% for i in range(100000) %}\n{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "loops ran more than 100,000 times",
        ),
        (
            '{% set s = "ab" * 400000 %}{% for x in s %}{% for y in s %}{% endfor %}{% endfor %}',
            "loops ran more than 100,000 times",
        ),
        ('{{ "a" * 10000000 }}', "goes over the limit"),
        ("{{ 2 ** 100000 }}", "exponents above 100"),
        (
            '{% set ns = namespace(s="ab") %}{% for i in range(40) %}'
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "joining text with ~",
        ),
        (
            '{% set ns = namespace(s="ab") %}{% for i in range(40) %}'
            "{% set ns.s = ns.s + ns.s %}{% endfor %}",
            "built a text of 1,048,576",
        ),
        ('{{ "a" | center(100000000) }}', "width or count of 100,000,000"),
        ('{{ "a".ljust(100000000) }}', "width or count of 100,000,000"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "calls itself too deeply"),
        ('{% for i in range(20000) %}{{ "x" * 100 }}{% endfor %}', "output is longer"),
    ],
)
def test_runaway_templates_are_stopped_with_a_clear_error(body, words):
    started = time.monotonic()

    result = render(body)

    assert time.monotonic() - started < 5
    assert not result.ok
    assert words in result.error_text()


def test_a_template_over_its_time_budget_is_stopped_on_its_line(monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_RENDER_SECONDS", 0.0)

    result = render("{{ 1 }}\n{% for item in range(1000) %}{{ item }}{% endfor %}")

    (problem,) = result.errors
    assert "ran longer than 0 s and was stopped" in problem.message
    assert problem.line == 2


def test_limits_leave_ordinary_templates_alone():
    result = render(
        "{% for i in range(500) %}{{ loop.index }}{{ ',' if not loop.last }}{% endfor %}"
        "{% set ns = namespace(total=0) %}{% for item in items %}"
        "{% set ns.total = ns.total + 1 %}{% endfor %}|{{ ns.total }}"
    )

    assert result.ok, result.error_text()
    assert result.message.body.endswith("499,500|1")
