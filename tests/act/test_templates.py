"""Templates: sandboxed, autoescaped, every built-in letter renders in German and English."""

from __future__ import annotations

import pytest

from retentio.act.flow_model import builtin_flows
from retentio.act.templates import list_templates, load_template, render, render_script, render_string
from retentio.errors import ConfigError

CONTEXT = {
    "lang": "de", "salutation": "Hallo Anna", "customer": {"first_name": "Anna", "last_name": "Muster",
                                                          "external_id": "K1", "purchases": 3},
    "shop": {"name": "Röstwerk & Co", "sender": "Röstwerk", "url": "https://shop.example", "logo_url": None,
             "legal_name": "Röstwerk & Co GmbH", "address": "Hafenstraße 1, 20457 Hamburg",
             "imprint": "HRB 12345, Amtsgericht Hamburg"},
    "last_products": ["Kaffee 1 kg"], "tips": ["Bohnen kühl und dunkel lagern."],
    "cart": {"lines": [], "url": None},
    "recommendations": ["Tasse", "Mühle"], "value": {"clv": "120,00 €", "churn": "62 %", "revenue": "300,00 €",
                                                     "last_purchase": "01.02.2026", "lifecycle": "at_risk",
                                                     "reason": "Preis"},
    "open_cases": 1, "nps_last": 4.0, "links": {"unsubscribe": "https://x/u/t", "feedback": "https://x/f/t"},
    "t": {"unsubscribe": "Abmelden", "unsubscribe_note": "Hinweis", "imprint": "Impressum"},
    "voucher": {"code": "RT-ABC", "percent": 15, "valid_until": "01.03.2026"}, "occurrence": "1",
    "shop_url": "https://shop.example", "occasion": "Weihnachten",
    "loyalty": {"member": True, "tier": "silver", "points": "1.250", "expiring_points": "300",
                "expiring_on": "31.12.2026", "vouchers": [{"code": "ABCD-EFGH-JKLM", "value": "10,00 €",
                                                           "valid_until": "15.01.2027"}],
                "gift": {"code": "ABCD-EFGH-JKLM", "value": "10,00 €", "valid_until": "15.01.2027"},
                "purchase_number": 5},
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


@pytest.mark.parametrize("name", [n for n in list_templates() if "script" not in load_template(n)["en"]])
def test_english_letters_start_with_a_capital_after_the_greeting(name):
    r = render(name, "en", {**CONTEXT, "lang": "en", "salutation": "Hi Anna"})
    first = r.text.split("\n\n")[1].lstrip()
    assert first[:1].isupper() or not first[:1].isalpha(), first[:40]


def test_shop_identity_and_unsubscribe_appear_in_both_parts():
    r = render("winback", "de", CONTEXT)
    for part in (r.text, r.html):
        assert "Hafenstraße 1, 20457 Hamburg" in part and "HRB 12345" in part and "https://x/u/t" in part
    assert "Röstwerk &amp; Co GmbH" in r.html and "Impressum: HRB 12345" in r.text


def test_button_is_rendered_for_web_addresses_only():
    r = render("feedback_request", "en", {**CONTEXT, "lang": "en"})
    assert 'href="https://x/f/t"' in r.html and "Rate us now" in r.html
    r = render("feedback_request", "en", {**CONTEXT, "lang": "en",
                                          "links": {**CONTEXT["links"], "feedback": "javascript:alert(1)"}})
    assert "Rate us now" not in r.html and "javascript:alert" not in r.html.split("<body")[1].split("<p")[0]


def test_addresses_in_the_text_become_links_and_nothing_else_does():
    ctx = {**CONTEXT, "lang": "en", "shop": {**CONTEXT["shop"], "name": "<b>Shop</b> https://evil.example/\"x"}}
    r = render("winback", "en", ctx)
    assert '<a href="https://shop.example"' in r.html
    assert "<b>Shop</b>" not in r.html and "&lt;b&gt;Shop&lt;/b&gt;" in r.html
    assert 'href="https://evil.example/"x' not in r.html


def test_cart_items_are_listed_with_the_cart_link():
    cart = {"lines": [{"name": "Espresso <1kg>", "quantity": 2, "price": "19,90 €"}],
            "url": "https://shop.example/cart/abc"}
    r = render("abandoned_cart", "de", {**CONTEXT, "cart": cart})
    assert "• 2 × Espresso <1kg> – 19,90 €" in r.text and "https://shop.example/cart/abc" in r.text
    assert "Espresso &lt;1kg&gt;" in r.html and 'href="https://shop.example/cart/abc"' in r.html
    r = render("abandoned_cart", "de", CONTEXT)
    assert "•" not in r.text and "https://shop.example" in r.text


def test_post_purchase_tips_follow_the_shop_category():
    r = render("post_purchase_tips", "de", CONTEXT)
    assert "Bohnen kühl und dunkel lagern." in r.text
