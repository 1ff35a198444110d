"""The ledger of internal refund destinations (R-FIN-2): store balance, points and coupons as
append-only entries, a refund credited at most once, no balance below zero (in the service, in the
database, and under concurrent writers on PostgreSQL), the coupon lifecycle, and the portal page."""

import re
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from aftersales.common.errors import InvalidTransition, ValidationFailed
from aftersales.finance import ledger
from aftersales.finance.models import BalanceEntry, Coupon, LedgerKind, PointsEntry, Refund
from tests import factories
from tests.cases.test_concurrency import run_together

pytestmark = pytest.mark.django_db

REFUND = LedgerKind.REFUND
CHECKOUT = LedgerKind.CHECKOUT
_keys = count()


def refund_for(customer, amount="100.00", **kwargs) -> Refund:
    order = factories.order_with_lines(customer=customer, lines=((Decimal(amount), 1),))
    return Refund.objects.create(
        order=order, source="return", amount=Decimal(amount), idempotency_key=f"ledger-{next(_keys)}", **kwargs
    )


def credit(customer, amount: str, **kwargs) -> BalanceEntry:
    return ledger.credit_balance(customer=customer, amount=Decimal(amount), kind=LedgerKind.ADJUSTMENT, **kwargs)


# --- Balance and points ---------------------------------------------------------------------------------


def test_R_FIN_2_credits_and_debits_add_up_to_the_balance(customer, other_customer, agent):
    assert ledger.balance_of(customer) == Decimal("0.00")
    refund = refund_for(customer, "199.90")
    entry = ledger.credit_balance(customer=customer, amount=Decimal("199.90"), kind=REFUND, refund=refund)
    ledger.debit_balance(customer=customer, amount=Decimal("50.00"), kind=CHECKOUT, note="Order 42")
    credit(customer, "0.10", actor=agent, note="Rounding goodwill")
    credit(other_customer, "999.00")

    assert (entry.amount, entry.kind, entry.refund, entry.customer) == (Decimal("199.90"), "refund", refund, customer)
    assert ledger.balance_of(customer) == Decimal("150.00")
    assert ledger.balance_of(other_customer) == Decimal("999.00")
    amounts = [e.amount for e in ledger.balance_entries_of(customer)]
    assert amounts == [Decimal("0.10"), Decimal("-50.00"), Decimal("199.90")]  # newest first
    assert ledger.balance_entries_of(customer)[0].created_by == agent


def test_R_FIN_2_a_debit_below_zero_is_refused_and_writes_nothing(customer):
    credit(customer, "30.00")
    with pytest.raises(ValidationFailed, match=r"Not enough store balance: 30\.00 available") as refused:
        ledger.debit_balance(customer=customer, amount=Decimal("30.01"), kind=CHECKOUT)
    assert "amount" in refused.value.fields
    assert ledger.balance_of(customer) == Decimal("30.00")
    ledger.debit_balance(customer=customer, amount=Decimal("30.00"), kind=CHECKOUT)  # down to exactly zero
    assert ledger.balance_of(customer) == Decimal("0.00")
    assert BalanceEntry.objects.filter(customer=customer).count() == 2


def test_R_FIN_2_points_are_credited_and_debited_never_below_zero(customer):
    refund = refund_for(customer)
    ledger.credit_points(customer=customer, points=500, kind=REFUND, refund=refund)
    ledger.debit_points(customer=customer, points=120, kind=CHECKOUT)
    with pytest.raises(ValidationFailed, match="Not enough points: 380 available"):
        ledger.debit_points(customer=customer, points=381, kind=CHECKOUT)
    assert ledger.points_of(customer) == 380
    assert [e.points for e in ledger.points_entries_of(customer)] == [-120, 500]


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5.00"), Decimal("1.005"), Decimal("NaN"), 5, 5.0])
def test_amounts_must_be_positive_decimals_in_cents(customer, amount):
    with pytest.raises(ValidationFailed):
        ledger.credit_balance(customer=customer, amount=amount, kind=LedgerKind.ADJUSTMENT)
    with pytest.raises(ValidationFailed):
        ledger.issue_coupon(customer=customer, amount=amount)
    assert not BalanceEntry.objects.exists() and not Coupon.objects.exists()


@pytest.mark.parametrize("points", [0, -1, 1.5, True])
def test_points_must_be_a_positive_whole_number(customer, points):
    with pytest.raises(ValidationFailed):
        ledger.credit_points(customer=customer, points=points, kind=LedgerKind.ADJUSTMENT)


def test_each_kind_moves_one_way_and_a_refund_credit_names_its_refund(customer):
    with pytest.raises(ValidationFailed):
        ledger.credit_balance(customer=customer, amount=Decimal("1.00"), kind=CHECKOUT)
    with pytest.raises(ValidationFailed):
        ledger.debit_balance(customer=customer, amount=Decimal("1.00"), kind=REFUND)
    with pytest.raises(ValidationFailed):
        ledger.credit_balance(customer=customer, amount=Decimal("1.00"), kind=REFUND)  # which refund?
    assert not BalanceEntry.objects.exists()


def test_R_FIN_2_a_refund_is_credited_to_its_own_customer_only(customer, other_customer):
    refund = refund_for(customer)
    with pytest.raises(ValidationFailed, match="another customer"):
        ledger.credit_balance(customer=other_customer, amount=Decimal("100.00"), kind=REFUND, refund=refund)
    with pytest.raises(ValidationFailed):
        ledger.issue_coupon(customer=other_customer, amount=Decimal("100.00"), refund=refund)
    assert not BalanceEntry.objects.exists() and not Coupon.objects.exists()


def test_R_FIN_2_a_refund_credits_the_ledger_once_however_often_it_is_paid(customer):
    """A retried worker calls again with the same refund: it gets the first entry or coupon back."""
    refund = refund_for(customer)
    first = ledger.credit_balance(customer=customer, amount=Decimal("100.00"), kind=REFUND, refund=refund)
    again = ledger.credit_balance(customer=customer, amount=Decimal("100.00"), kind=REFUND, refund=refund)
    assert again.pk == first.pk and ledger.balance_of(customer) == Decimal("100.00")

    points_refund = refund_for(customer)
    first_points = ledger.credit_points(customer=customer, points=100, kind=REFUND, refund=points_refund)
    assert ledger.credit_points(customer=customer, points=100, kind=REFUND, refund=points_refund) == first_points
    assert ledger.points_of(customer) == 100

    coupon_refund = refund_for(customer)
    coupon = ledger.issue_coupon(customer=customer, amount=Decimal("100.00"), refund=coupon_refund)
    assert ledger.issue_coupon(customer=customer, amount=Decimal("100.00"), refund=coupon_refund) == coupon
    assert Coupon.objects.filter(customer=customer).count() == 1


def test_R_PP_6_a_credit_can_be_revoked_once_per_refund(customer):
    refund = refund_for(customer)
    ledger.credit_balance(customer=customer, amount=Decimal("100.00"), kind=REFUND, refund=refund)
    revoked = ledger.debit_balance(
        customer=customer, amount=Decimal("100.00"), kind=LedgerKind.REVOCATION, refund=refund
    )
    again = ledger.debit_balance(customer=customer, amount=Decimal("100.00"), kind=LedgerKind.REVOCATION, refund=refund)
    assert again.pk == revoked.pk and ledger.balance_of(customer) == Decimal("0.00")


# --- Coupons --------------------------------------------------------------------------------------------


def test_R_FIN_2_a_coupon_is_issued_with_an_unguessable_typable_code_and_the_default_expiry(customer, settings):
    settings.LEDGER_COUPON_VALID_DAYS = 30
    settings.SHOP_CURRENCY = "CNY"
    before = timezone.now()
    coupon = ledger.issue_coupon(customer=customer, amount=Decimal("25.00"), note="Price protection PP-1")
    other = ledger.issue_coupon(customer=customer, amount=Decimal("25.00"))
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{12}", coupon.code)
    assert coupon.code != other.code
    assert (coupon.amount, coupon.currency, coupon.state) == (Decimal("25.00"), "CNY", "issued")
    assert before + timedelta(days=30) <= coupon.expires_at <= timezone.now() + timedelta(days=30)
    assert ledger.coupon_state(coupon) == "issued"
    assert list(ledger.coupons_of(customer)) == [other, coupon]


def test_a_coupon_cannot_be_issued_already_expired(customer):
    with pytest.raises(ValidationFailed):
        ledger.issue_coupon(customer=customer, amount=Decimal("5.00"), expires_at=timezone.now() - timedelta(seconds=1))


def test_a_coupon_is_used_once_and_only_by_its_owner(customer, other_customer):
    coupon = ledger.issue_coupon(customer=customer, amount=Decimal("25.00"))
    with pytest.raises(ValidationFailed, match="no such coupon"):
        ledger.use_coupon(code=coupon.code, customer=other_customer)
    typed = f" {coupon.code[:4].lower()}-{coupon.code[4:8]} {coupon.code[8:]} "  # as a customer types it
    used = ledger.use_coupon(code=typed, customer=customer)
    assert used.pk == coupon.pk and used.state == "used" and used.used_at is not None
    with pytest.raises(ValidationFailed, match="already been used"):
        ledger.use_coupon(code=coupon.code, customer=customer)
    with pytest.raises(ValidationFailed, match="no such coupon"):
        ledger.use_coupon(code="NOSUCHCODE22", customer=customer)


def test_an_expired_coupon_cannot_be_used(customer):
    coupon = ledger.issue_coupon(customer=customer, amount=Decimal("25.00"), expires_at=timezone.now() + timedelta(1))
    assert ledger.coupon_state(coupon, timezone.now() + timedelta(days=2)) == "expired"
    Coupon.objects.filter(pk=coupon.pk).update(
        issued_at=timezone.now() - timedelta(days=10), expires_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(ValidationFailed, match="expired"):
        ledger.use_coupon(code=coupon.code, customer=customer)
    coupon.refresh_from_db()
    assert coupon.state == "issued" and ledger.coupon_state(coupon) == "expired"  # derived, never stored


def test_R_PP_6_only_an_unused_coupon_is_cancelled(customer, agent):
    unused = ledger.issue_coupon(customer=customer, amount=Decimal("25.00"))
    cancelled = ledger.cancel_coupon(coupon=unused, actor=agent, note="Order returned")
    assert (cancelled.state, cancelled.cancelled_by, cancelled.cancel_note) == ("cancelled", agent, "Order returned")
    assert ledger.cancel_coupon(coupon=unused, actor=agent).cancelled_at == cancelled.cancelled_at  # a retry: no-op
    with pytest.raises(ValidationFailed, match="cancelled"):
        ledger.use_coupon(code=unused.code, customer=customer)

    used = ledger.issue_coupon(customer=customer, amount=Decimal("25.00"))
    ledger.use_coupon(code=used.code, customer=customer)
    with pytest.raises(InvalidTransition):
        ledger.cancel_coupon(coupon=used, actor=agent)
    used.refresh_from_db()
    assert used.state == "used" and used.cancelled_at is None


# --- The database's own guards --------------------------------------------------------------------------


def refused_by_database(write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_R_FIN_2_the_database_refuses_zero_and_wrongly_signed_entries(customer):
    refund = refund_for(customer)
    refused_by_database(lambda: BalanceEntry.objects.create(customer=customer, kind="adjustment", amount=0))
    refused_by_database(lambda: PointsEntry.objects.create(customer=customer, kind="adjustment", points=0))
    refused_by_database(lambda: BalanceEntry.objects.create(customer=customer, kind="refund", amount=-1, refund=refund))
    refused_by_database(lambda: BalanceEntry.objects.create(customer=customer, kind="refund", amount=1))  # no refund
    refused_by_database(lambda: PointsEntry.objects.create(customer=customer, kind="checkout", points=5))
    assert not BalanceEntry.objects.exists() and not PointsEntry.objects.exists()


def test_R_FIN_2_the_database_credits_a_refund_once(customer):
    refund = refund_for(customer)
    BalanceEntry.objects.create(customer=customer, kind="refund", amount=Decimal("1.00"), refund=refund)
    refused_by_database(
        lambda: BalanceEntry.objects.create(customer=customer, kind="refund", amount=Decimal("1.00"), refund=refund)
    )
    PointsEntry.objects.create(customer=customer, kind="refund", points=1, refund=refund)
    refused_by_database(lambda: PointsEntry.objects.create(customer=customer, kind="refund", points=1, refund=refund))
    expiry = timezone.now() + timedelta(days=1)
    Coupon.objects.create(code="A" * 12, customer=customer, amount=1, currency="CNY", expires_at=expiry, refund=refund)
    refused_by_database(
        lambda: Coupon.objects.create(
            code="B" * 12, customer=customer, amount=1, currency="CNY", expires_at=expiry, refund=refund
        )
    )


def test_R_FIN_2_the_database_refuses_a_negative_balance_and_edited_entries(customer):
    """Triggers of migration 0004_ledger: a write that bypasses `ledger` still cannot overdraw."""
    entry = BalanceEntry.objects.create(customer=customer, kind="adjustment", amount=Decimal("0.30"))
    BalanceEntry.objects.create(customer=customer, kind="checkout", amount=Decimal("-0.10"))
    BalanceEntry.objects.create(customer=customer, kind="checkout", amount=Decimal("-0.20"))  # float cents: exactly 0
    refused_by_database(lambda: BalanceEntry.objects.create(customer=customer, kind="checkout", amount=-1))
    PointsEntry.objects.create(customer=customer, kind="adjustment", points=10)
    refused_by_database(lambda: PointsEntry.objects.create(customer=customer, kind="checkout", points=-11))
    refused_by_database(lambda: BalanceEntry.objects.filter(pk=entry.pk).update(amount=Decimal("99.00")))
    refused_by_database(lambda: PointsEntry.objects.filter(customer=customer).update(note="edited"))
    assert ledger.balance_of(customer) == Decimal("0.00") and ledger.points_of(customer) == 10


def test_the_database_refuses_bad_coupons(customer):
    now = timezone.now()

    def coupon(code, **kwargs):
        values = {"customer": customer, "amount": Decimal("5.00"), "currency": "CNY", "expires_at": now + timedelta(1)}
        return lambda: Coupon.objects.create(code=code, **{**values, **kwargs})

    refused_by_database(coupon("C1", amount=0))
    refused_by_database(coupon("C2", expires_at=now - timedelta(1)))
    refused_by_database(coupon("C3", state="used"))  # used without used_at
    refused_by_database(coupon("C4", state="cancelled", cancelled_at=now, used_at=now))
    refused_by_database(coupon("C5", state="expired"))  # derived, never stored
    coupon("C6")()
    refused_by_database(coupon("C6"))  # codes are unique
    assert list(Coupon.objects.values_list("code", flat=True)) == ["C6"]


# --- Concurrency (PostgreSQL) ---------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_R_FIN_2_two_simultaneous_debits_cannot_both_take_the_last_of_the_balance():
    for _round in range(10):
        customer = factories.CustomerFactory()
        credit(customer, "100.00")

        def spend(customer=customer):
            return (
                lambda: None,
                lambda _: ledger.debit_balance(customer=customer, amount=Decimal("60.00"), kind=CHECKOUT),
            )

        results = run_together(spend(), spend())

        assert sum(isinstance(r, BalanceEntry) for r in results) == 1, results
        assert sum(isinstance(r, ValidationFailed) for r in results) == 1, results
        assert ledger.balance_of(customer) == Decimal("40.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_R_FIN_2_two_simultaneous_raw_debits_are_refused_by_the_trigger():
    """No Python lock: the trigger's lock on the customer's row serializes the two sums."""
    for _round in range(10):
        customer = factories.CustomerFactory()
        BalanceEntry.objects.create(customer=customer, kind="adjustment", amount=Decimal("100.00"))

        def spend(customer=customer):
            def act(_):
                with transaction.atomic():
                    return BalanceEntry.objects.create(customer=customer, kind="checkout", amount=Decimal("-60.00"))

            return (lambda: None, act)

        results = run_together(spend(), spend())

        assert sum(isinstance(r, BalanceEntry) for r in results) == 1, results
        loser = next(r for r in results if not isinstance(r, BalanceEntry))
        assert isinstance(loser, IntegrityError) and "below zero" in str(loser), repr(loser)
        assert ledger.balance_of(customer) == Decimal("40.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_R_FIN_2_a_refund_paid_by_two_workers_at_once_is_credited_once():
    customer = factories.CustomerFactory()
    for _round in range(10):
        refund = refund_for(customer)

        def pay(refund=refund):
            return (
                lambda: None,
                lambda _: ledger.credit_balance(
                    customer=customer, amount=Decimal("100.00"), kind=REFUND, refund=refund
                ),
            )

        first, second = run_together(pay(), pay())

        assert isinstance(first, BalanceEntry) and isinstance(second, BalanceEntry), (first, second)
        assert first.pk == second.pk
    assert BalanceEntry.objects.filter(customer=customer).count() == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_coupon_used_twice_at_once_is_used_once():
    customer = factories.CustomerFactory()
    for _round in range(10):
        coupon = ledger.issue_coupon(customer=customer, amount=Decimal("25.00"))

        def use(coupon=coupon):
            return (lambda: None, lambda _: ledger.use_coupon(code=coupon.code, customer=customer))

        results = run_together(use(), use())

        assert sum(isinstance(r, Coupon) for r in results) == 1, results
        assert sum(isinstance(r, ValidationFailed) for r in results) == 1, results
        coupon.refresh_from_db()
        assert coupon.state == "used"


# --- Portal and dashboard -------------------------------------------------------------------------------


def test_R_FIN_2_my_account_shows_my_balance_points_and_coupons_only(client, customer, other_customer):
    refund = refund_for(customer, "88.00")
    ledger.credit_balance(customer=customer, amount=Decimal("88.00"), kind=REFUND, refund=refund, note="RMA refund")
    ledger.credit_points(customer=customer, points=321, kind=LedgerKind.ADJUSTMENT)
    mine = ledger.issue_coupon(customer=customer, amount=Decimal("15.00"))
    used = ledger.issue_coupon(customer=customer, amount=Decimal("16.00"))
    ledger.use_coupon(code=used.code, customer=customer)
    credit(other_customer, "7777.00", note="Someone else's goodwill")
    theirs = ledger.issue_coupon(customer=other_customer, amount=Decimal("99.00"))

    client.force_login(customer)
    response = client.get(reverse("portal:account"))

    assert response.status_code == 200
    page = response.text
    assert re.search(r'id="balance-total">\s*88\.00 CNY<', page)
    assert re.search(r'id="points-total">\s*321<', page)
    assert "+88.00" in page and "RMA refund" in page
    assert mine.code in page and used.code in page and "Used" in page and "Valid" in page
    assert theirs.code not in page and "7,777.00" not in page and "Someone else" not in page
    assert f'href="{reverse("portal:account")}" aria-current="page"' in page  # the header link


def test_my_account_pages_each_list_on_its_own(client, customer):
    for number in range(25):
        credit(customer, f"{number + 1}.00")
    client.force_login(customer)
    first = client.get(reverse("portal:account")).text
    assert "+25.00" in first and "+5.00" not in first and '?balance=2#balance"' in first
    second = client.get(reverse("portal:account"), {"balance": 2}).text
    assert "+5.00" in second and "+25.00" not in second


def test_my_account_needs_a_login_and_staff_have_none(client, agent):
    response = client.get(reverse("portal:account"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(agent)
    assert client.get(reverse("portal:account")).status_code == 404
    assert reverse("portal:account") not in client.get(reverse("portal:case-list")).text


@pytest.mark.parametrize("role", ["finance", "supervisor"])
def test_finance_and_supervisors_see_the_ledgers_in_the_dashboard_read_only(client, customer, role):
    credit(customer, "10.00")
    ledger.credit_points(customer=customer, points=5, kind=LedgerKind.ADJUSTMENT)
    coupon = ledger.issue_coupon(customer=customer, amount=Decimal("15.00"))
    other = ledger.issue_coupon(customer=factories.CustomerFactory(), amount=Decimal("16.00"))
    client.force_login(factories.StaffFactory(role=role))
    for model in ("balanceentry", "pointsentry", "coupon"):
        listing = client.get(reverse(f"admin:finance_{model}_changelist"), {"q": customer.email})
        assert listing.status_code == 200, model
        assert customer.email in listing.text, model
        assert client.get(reverse(f"admin:finance_{model}_add")).status_code == 403, model
    found = client.get(reverse("admin:finance_coupon_changelist"), {"q": coupon.code}).text
    assert coupon.code in found and other.code not in found
    assert client.get(reverse("admin:finance_coupon_changelist"), {"state__exact": "issued"}).status_code == 200


def test_agents_do_not_see_the_ledgers(client):
    client.force_login(factories.StaffFactory(role="agent"))
    assert client.get(reverse("admin:finance_coupon_changelist")).status_code == 403
