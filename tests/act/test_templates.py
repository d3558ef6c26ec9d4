"""Templates: sandboxed, autoescaped, every built-in letter renders in German and English."""

from __future__ import annotations

import pytest

from retentio.act.flow_model import builtin_flows
from retentio.act.templates import list_templates, load_template, render, render_script, render_string
from retentio.errors import ConfigError

CONTEXT = {
    "lang": "de", "salutation": "Hallo Anna", "customer": {"first_name": "Anna", "last_name": "Muster",
                                                          "external_id": "K1", "purchases": 3},
    "shop": {"name": "Röstwerk & Co", "sender": "Röstwerk"}, "last_products": ["Kaffee 1 kg"],
    "recommendations": ["Tasse", "Mühle"], "value": {"clv": "120,00 €", "churn": "62 %", "revenue": "300,00 €",
                                                     "last_purchase": "01.02.2026", "lifecycle": "at_risk",
                                                     "reason": "Preis"},
    "open_cases": 1, "nps_last": 4.0, "links": {"unsubscribe": "https://x/u/t", "feedback": "https://x/f/t"},
    "t": {"unsubscribe": "Abmelden", "unsubscribe_note": "Hinweis"},
    "voucher": {"code": "RT-ABC", "percent": 15, "valid_until": "01.03.2026"}, "occurrence": "1",
    "shop_url": "https://shop.example", "occasion": "Weihnachten",
}


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ shop.__class__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{% set x = last_products.append('pwned') %}",
    "{{ range.__self__ }}",
])
def test_sandbox_refuses_python_internals(source):
    with pytest.raises(ConfigError):
        render_string(source, CONTEXT)
    assert CONTEXT["last_products"] == ["Kaffee 1 kg"]


def test_html_is_escaped_and_text_is_not():
    ctx = {**CONTEXT, "customer": {**CONTEXT["customer"], "first_name": "<script>x</script>"}}
    assert render_string("{{ customer.first_name }}", ctx, html=True) == "&lt;script&gt;x&lt;/script&gt;"
    assert render_string("{{ customer.first_name }}", ctx) == "<script>x</script>"


def test_unknown_variable_is_an_error_not_an_empty_string():
    with pytest.raises(ConfigError, match="undefined"):
        render_string("{{ custmer.first_name }}", CONTEXT)


def test_every_flow_template_exists_in_both_languages():
    used = {s.options["template"] for f in builtin_flows() for s in f.steps if "template" in s.options}
    assert used <= set(list_templates())
    for name in used:
        assert {"de", "en"} <= set(load_template(name))


@pytest.mark.parametrize("name", [n for n in list_templates()])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_template_renders(name, lang):
    ctx = {**CONTEXT, "lang": lang}
    part = load_template(name)[lang]
    if "script" in part:
        out = render_script(name, lang, ctx)
        assert "K1" in out and "{{" not in out
        return
    r = render(name, lang, ctx)
    assert r.subject and "{{" not in r.subject + r.text and r.lang == lang
    assert "Hallo Anna" in r.text
    assert "Röstwerk &amp; Co" in r.html and "https://x/u/t" in r.html
    assert "\n\n\n" not in r.text  # no stray blank lines around blocks


def test_recommendations_are_listed_when_present_and_the_letter_still_reads_without():
    r = render("second_purchase", "en", {**CONTEXT, "lang": "en"})
    assert "also bought:" in r.text and "• Tasse" in r.text and "• Mühle" in r.text
    r = render("second_purchase", "en", {**CONTEXT, "lang": "en", "recommendations": []})
    assert "•" not in r.text and "something new" in r.text
