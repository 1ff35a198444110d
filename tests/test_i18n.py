"""English and Simplified Chinese ship together: the catalog is complete and the pages use it."""

import ast
import gettext
import re
from decimal import Decimal
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from aftersales.common.templatetags.money import money
from tests import factories

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _string(lines: list[str], keyword: str) -> str:
    """The value of `keyword "…"` plus its continuation lines, with escapes resolved."""
    value, inside = [], False
    for line in lines:
        if line.startswith(keyword + " "):
            inside, line = True, line[len(keyword) + 1 :]
        elif not line.startswith('"'):
            inside = False
        if inside:
            value.append(ast.literal_eval(line))
    return "".join(value)


def entries(po: Path = PO) -> list[dict]:
    result = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        result.append(
            {
                "msgctxt": _string(lines, "msgctxt"),
                "msgid": _string(lines, "msgid"),
                "plural": any(line.startswith("msgid_plural") for line in lines),
                "msgstrs": [
                    _string(lines, kw) for kw in ("msgstr", "msgstr[0]") if any(ln.startswith(kw + " ") for ln in lines)
                ],
                "fuzzy": any(line.startswith("#,") and "fuzzy" in line for line in lines),
            }
        )
    return [e for e in result if e["msgid"]]


def test_every_message_has_a_chinese_translation_and_none_is_fuzzy():
    catalog = entries()
    assert len(catalog) > 300
    assert [e["msgid"] for e in catalog if e["fuzzy"]] == []
    assert [e["msgid"] for e in catalog if not all(e["msgstrs"])] == []


def test_compiled_catalog_matches_the_source():
    """The committed .mo is what a fresh clone serves when gettext is not installed: it must say
    what the .po says."""
    with PO.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    for entry in entries():
        key = f"{entry['msgctxt']}\x04{entry['msgid']}" if entry["msgctxt"] else entry["msgid"]
        if entry["plural"]:
            key = (key, 0)
        assert compiled.get(key) == entry["msgstrs"][0], key


@pytest.mark.django_db
def test_portal_and_dashboard_speak_chinese_after_the_switch(client):
    customer = factories.CustomerFactory()
    client.force_login(customer)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "我的订单" in client.get(reverse("portal:order-list")).content.decode()
    agent = factories.StaffFactory(role="agent")
    client.force_login(agent)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "管理后台" in client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_the_profile_language_wins_over_the_browser_then_the_browser_decides(client):
    chinese = factories.CustomerFactory(preferred_language="zh-hans")
    client.force_login(chinese)
    page = client.get(reverse("portal:case-list"), HTTP_ACCEPT_LANGUAGE="en")
    assert "我的售后" in page.content.decode() and page["Content-Language"] == "zh-hans"

    plain = factories.CustomerFactory(preferred_language="")
    client.force_login(plain)
    page = client.get(reverse("portal:case-list"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert page["Content-Language"] == "zh-hans"
    page = client.get(reverse("portal:case-list"), HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "en"

    # The header's switch sets the profile, so it holds on the next device too.
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    plain.refresh_from_db()
    assert plain.preferred_language == "zh-hans"


@pytest.mark.parametrize(
    ("language", "amount", "currency", "shown"),
    [
        ("en", "1999", "CNY", "1,999.00 CNY"),
        ("zh-hans", "1999", "CNY", "¥1999.00"),
        ("zh-hans", "0.5", "", "¥0.50"),  # the shop's currency
        ("zh-hans", "12.5", "USD", "12.50 USD"),
        ("en", None, "CNY", ""),
    ],
)
def test_money_is_written_the_way_the_language_writes_it(settings, language, amount, currency, shown):
    """R-ORD-4: two decimals, the language's grouping, and the currency where the translation puts it."""
    settings.SHOP_CURRENCY = "CNY"
    with translation.override(language):
        assert money(Decimal(amount) if amount else amount, currency) == shown


@pytest.mark.django_db
def test_staff_read_what_a_deadline_will_do_in_their_language_not_its_code():
    case = factories.open_case()
    case.deadline_action = "remind_unshipped"
    with translation.override("zh-hans"):
        assert case.get_deadline_action_display() == "提醒顾客寄回包裹"
    with translation.override("en"):
        assert case.get_deadline_action_display() == "remind the customer to ship the parcel"
    case.deadline_action = "no_such_action"
    assert case.get_deadline_action_display() == "no_such_action"


def test_every_django_admin_string_has_a_chinese_translation():
    """Django's admin catalogue lacks a few zh-Hans entries; ours fills them (aftersales.common.django_strings)."""
    english = entries(
        Path(django.__file__).parent / "contrib" / "admin" / "locale" / "en" / "LC_MESSAGES" / "django.po"
    )
    with translation.override("zh-hans"):
        untranslated = [
            e["msgid"]
            for e in english
            if not e["plural"]
            and not e["msgctxt"]
            and translation.gettext(e["msgid"]) == e["msgid"]
            and re.search(r"[A-Za-z]", re.sub(r"%\(\w+\)s", "", e["msgid"]))  # words, not only placeholders
        ]
    assert untranslated == []
