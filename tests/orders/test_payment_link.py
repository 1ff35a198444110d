"""R-RET-5 (and the warranty's amounts due): a customer who owes money on a case is sent to the
storefront's payment page, if the storefront has one, with the order, case, amount and currency filled in;
the storefront reports the payment back through the API."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from aftersales.orders.models import Storefront
from returns import services
from returns.models import ReturnRequest
from tests import factories
from tests.returns.test_exchange_reissue import phone_order, received, variant
from tests.returns.test_submit import submit

pytestmark = pytest.mark.django_db
PAY = "https://shop.example/pay?order={order}&ref={case}&amount={amount}&currency={currency}"


def storefront(**kwargs) -> Storefront:
    return Storefront.objects.create(name="Web shop", token_sha256="a" * 64, token_hint="aaaa", **kwargs)


def exchange_owing_300(customer, agent, *, payment_url=PAY):
    order = phone_order(customer)
    order.storefront = storefront(payment_url=payment_url)
    order.save(update_fields=["storefront"])
    case = submit(order, kind="exchange", exchange_product=variant(Decimal("2299.00")))
    return order, case


def test_the_payment_page_has_the_case_filled_in():
    shop = storefront(payment_url=PAY)
    link = shop.payment_link(order="SO 1/2", case="RMA-1", amount=Decimal("300"), currency="CNY")
    assert link == "https://shop.example/pay?order=SO%201%2F2&ref=RMA-1&amount=300.00&currency=CNY"
    shop.active = False
    assert shop.payment_link(order="SO1", case="RMA-1", amount=Decimal("300"), currency="CNY") == ""


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)//{case}",
        "https://shop.example/pay?x={secret}",
        "https://shop.example/{case",
        "ftp://x/{case}",
    ],
)
def test_only_http_addresses_with_known_placeholders_are_accepted(url):
    with pytest.raises(ValidationError):
        storefront(payment_url=url).full_clean()


def test_an_exchange_owing_the_difference_shows_a_pay_button_once_approved(client, customer, agent):
    order, case = exchange_owing_300(customer, agent)
    client.force_login(customer)
    page = client.get(reverse("portal:case-detail", args=[case.number])).text
    assert "shop.example/pay" not in page  # staff have not confirmed the charge yet

    case = services.inspect(case=received(case, agent), actor=agent, passed=True, notes="OK")
    page = client.get(reverse("portal:case-detail", args=[case.number])).text
    expected = f"https://shop.example/pay?order={order.number}&amp;ref={case.number}&amp;amount=300.00&amp;currency=CNY"
    assert f'<a class="button" href="{expected}">Pay 300.00 CNY</a>' in page

    # The storefront reports the payment: the button goes.
    services.record_difference_paid(case=case, actor=agent)
    assert ReturnRequest.objects.get(case=case).amount_due_paid_at is not None
    assert "shop.example/pay" not in client.get(reverse("portal:case-detail", args=[case.number])).text


def test_no_payment_page_no_button_and_staff_never_see_it(client, customer, agent):
    order, case = exchange_owing_300(customer, agent, payment_url="")
    case = services.inspect(case=received(case, agent), actor=agent, passed=True, notes="OK")
    client.force_login(customer)
    page = client.get(reverse("portal:case-detail", args=[case.number])).text
    assert "not paid yet" in page and 'class="button" href="https://' not in page
    order.storefront.payment_url = PAY
    order.storefront.save()
    client.force_login(factories.StaffFactory(role="supervisor"))
    assert "shop.example/pay" not in client.get(reverse("portal:case-detail", args=[case.number])).text
