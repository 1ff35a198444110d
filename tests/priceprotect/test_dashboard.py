"""Price protection in the staff dashboard: the claims queue (claims waiting for review first), an
agent's review of a suspected pricing error on the claim's page (R-PP-7), what a planned price cut
would cost (from the product's page), the settings row, revocations and offers. Every decision goes
through priceprotect.services."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.cases.models import CaseEvent
from aftersales.finance import ledger
from aftersales.orders.models import OrderLine
from aftersales.orders.services import set_milestones
from priceprotect import services
from priceprotect.models import Claim, PriceDropOffer, PriceProtectionSettings, Revocation
from tests import factories
from tests.dashboard.conftest import form_data
from tests.priceprotect.conftest import in_transit_order, price

pytestmark = pytest.mark.django_db
QUEUE = "admin:priceprotect_claim_changelist"


def product_of(order):
    return order.lines.get().product


def suspected(customer):
    """A claim on a drop of 53.5 % (above the default 50 %): it waits for an agent (R-PP-7)."""
    order = in_transit_order(customer, unit_price=Decimal("299.00"))
    price(product_of(order), "139.00")
    case = services.file_claim(order=order, actor=customer)
    assert case.status == "submitted"
    return case


def approved_at_once(customer):
    order = in_transit_order(customer)
    price(product_of(order), "1899.00")
    case = services.file_claim(order=order, actor=customer)
    assert case.status == "compensated"
    return case


def change_url(case) -> str:
    return reverse("admin:priceprotect_claim_change", args=[case.pk])


def decision_url(case, decision) -> str:
    return reverse(f"admin:priceprotect_claim_{decision}", args=[case.pk])


def exposure_url(product) -> str:
    return reverse("admin:priceprotect_claim_exposure", args=[product.pk])


def message_texts(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def listed(page: str, *cases) -> list[str]:
    """The numbers of `cases` on the page, in the order the page lists them."""
    shown = [case.number for case in cases if f">{case.number}<" in page]
    return sorted(shown, key=lambda number: page.index(f">{number}<"))


# --- The queue --------------------------------------------------------------------------------------


def test_R_PP_7_the_queue_lists_claims_waiting_for_review_first(client, agent, customer):
    oldest_waiting = suspected(customer)
    paid = approved_at_once(customer)
    newest_waiting = suspected(customer)
    client.force_login(agent)

    page = client.get(reverse(QUEUE)).text
    # Waiting first, the one waiting longest at the top; then the others, newest first.
    assert listed(page, oldest_waiting, paid, newest_waiting) == [
        oldest_waiting.number,
        newest_waiting.number,
        paid.number,
    ]
    assert "Waiting for review" in page and "Compensated" in page  # the statuses, in words
    assert "Coupon" in page  # paid as
    for title in ("By status", "By suspected pricing error", "By compensation", "By filed by the price-drop sweep"):
        assert title in page, title
    waiting_url = reverse(QUEUE) + "?status=submitted"
    assert f'href="{waiting_url}"' in page and "Waiting for review (2)" in page

    def queue(**params):
        response = client.get(reverse(QUEUE), params)
        assert response.status_code == 200, params
        return set(listed(response.text, oldest_waiting, paid, newest_waiting))

    assert queue(status="submitted") == {oldest_waiting.number, newest_waiting.number}
    assert queue(status="compensated") == {paid.number}
    assert queue(suspected_pricing_error__exact="1") == {oldest_waiting.number, newest_waiting.number}
    assert queue(suspected_pricing_error__exact="0") == {paid.number}
    assert queue(mode__exact="credit") == {oldest_waiting.number, paid.number, newest_waiting.number}
    assert queue(mode__exact="reprice") == set()
    assert queue(q=paid.order.number) == {paid.number}
    assert queue(o="1") == {oldest_waiting.number, paid.number, newest_waiting.number}  # sorting by a column

    # The dashboard's home page leads to the claims waiting for review.
    index = client.get(reverse("admin:index")).text
    assert waiting_url in index and "Claims waiting for review" in index


def test_the_queue_does_not_query_per_row(client, agent, customer, django_assert_max_num_queries):
    client.force_login(agent)
    suspected(customer)
    approved_at_once(customer)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(QUEUE)).status_code == 200
    for _n in range(4):
        suspected(factories.CustomerFactory())
        approved_at_once(factories.CustomerFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(QUEUE)).status_code == 200


# --- The claim page and the agent's decision (R-PP-7) ---------------------------------------------------


def test_R_PP_7_the_claim_page_shows_the_lines_the_price_history_and_the_timeline(client, agent, customer):
    case = suspected(customer)
    claim = Claim.objects.get(pk=case.pk)
    line = claim.lines.get()
    client.force_login(agent)
    page = client.get(change_url(case)).text

    assert 'id="claim-suspected"' in page and "more than the review limit of 50.00%" in page
    # The line: paid, the basis and where it came from, the drop, the compensation.
    for text in ("299.00", "139.00", "Regular price", str(line.drop_percent), "160.00"):
        assert text in page, text
    history = page[page.index('id="claim-price-history"') :]
    assert line.order_line.product.sku in history and 'class="price-basis"' in history
    timeline = page[page.index('id="claim-timeline"') :]
    assert "check it is not a pricing error" in timeline and "internal" in timeline
    # The generic case page sends staff here for the decision.
    case_page = client.get(reverse("admin:cases_case_change", args=[case.pk])).text
    assert change_url(case) in case_page
    for form in ("claim-approve", "claim-reject"):
        assert f'id="{form}"' in page, form
    assert form_data(page, "claim-approve")["version"] == str(case.version)


def test_R_PP_7_an_agent_approves_a_suspected_claim_through_the_page(client, agent, customer):
    case = suspected(customer)
    client.force_login(agent)
    data = form_data(client.get(change_url(case)).text, "claim-approve")
    response = client.post(decision_url(case, "approve"), {**data, "note": "A real clearance price."})

    assert response.status_code == 302 and response["Location"] == change_url(case)
    assert ("success", f"Case {case.number} is now: Compensated.") in message_texts(response)
    case.refresh_from_db()
    claim = Claim.objects.get(pk=case.pk)
    assert case.status == "compensated" and claim.decided_by == agent
    assert claim.coupon.amount == Decimal("160.00") and claim.coupon.customer == customer
    approval = CaseEvent.objects.get(case=case, to_status="approved")
    assert (approval.actor, approval.note) == (agent, "A real clearance price.")

    page = client.get(change_url(case)).text
    assert claim.coupon.code in page  # the compensation, on the page
    assert "No price-protection decision can be taken by you from this status." in page
    assert 'id="claim-approve"' not in page


def test_R_PP_7_a_rejection_needs_a_reason(client, agent, customer):
    case = suspected(customer)
    version = case.version
    client.force_login(agent)
    response = client.post(decision_url(case, "reject"), {"version": version, "reason": "   "})

    assert response.status_code == 302
    [(level, text)] = message_texts(response)
    assert level == "error" and "Tell the customer why." in text
    case.refresh_from_db()
    assert (case.status, case.version) == ("submitted", version)  # nothing changed
    assert Claim.objects.get(pk=case.pk).decided_at is None

    client.post(decision_url(case, "reject"), {"version": version, "reason": "The 139 price was a typo."})
    case.refresh_from_db()
    assert case.status == "rejected" and case.events.last().note == "The 139 price was a typo."
    assert not Claim.objects.get(pk=case.pk).refund_id


def test_R_PP_7_a_decision_from_a_stale_page_changes_nothing(client, agent, supervisor, customer):
    case = suspected(customer)
    client.force_login(agent)
    data = form_data(client.get(change_url(case)).text, "claim-approve")
    services.reject(case=case, actor=supervisor, reason_text="Pricing error.")  # someone was quicker

    response = client.post(decision_url(case, "approve"), data)
    [(level, text)] = message_texts(response)
    assert level == "error" and "changed by someone else" in text
    case.refresh_from_db()
    assert case.status == "rejected" and not Claim.objects.get(pk=case.pk).refund_id
    # A garbled version is refused the same way, never a 500.
    response = client.post(decision_url(case, "reject"), {"version": "x", "reason": "Again"})
    assert response.status_code == 302 and message_texts(response)[0][0] == "error"


def test_R_PP_7_only_staff_who_may_review_decide(client, customer):
    case = suspected(customer)
    version = case.version

    # A customer does not reach the dashboard at all.
    client.force_login(customer)
    for url in (reverse(QUEUE), change_url(case)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url
    response = client.post(decision_url(case, "approve"), {"version": version})
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]

    # Finance staff do not see price-protection claims.
    finance = factories.StaffFactory(role="finance")
    client.force_login(finance)
    assert client.get(reverse(QUEUE)).status_code == 403
    assert client.get(change_url(case)).status_code == 403
    assert client.post(decision_url(case, "approve"), {"version": version}).status_code == 403

    # Seeing the claims is not deciding them.
    finance.user_permissions.add(Permission.objects.get(codename="view_claim", content_type__app_label="priceprotect"))
    finance = type(finance).objects.get(pk=finance.pk)  # a fresh permission cache
    client.force_login(finance)
    page = client.get(change_url(case)).text
    assert 'id="claim-approve"' not in page and 'id="claim-reject"' not in page
    assert client.post(decision_url(case, "approve"), {"version": version}).status_code == 403
    assert client.post(decision_url(case, "reject"), {"version": version, "reason": "No"}).status_code == 403

    case.refresh_from_db()
    assert (case.status, case.version) == ("submitted", version)
    assert client.post(reverse("admin:priceprotect_claim_approve", args=[999999]), {}).status_code == 404


# --- What a planned price cut would cost (R-PP-1, R-PP-2, R-PP-4) ------------------------------------------


def test_R_PP_2_the_exposure_of_a_planned_price_counts_the_orders_in_their_window(client, agent, customer):
    first = in_transit_order(customer)
    product = product_of(first)
    second = in_transit_order(factories.CustomerFactory(), quantity=2)
    b2b = in_transit_order(factories.CustomerFactory(), is_b2b=True)
    closed = in_transit_order(factories.CustomerFactory(), signed_for_at=first.placed_at)  # window closed
    OrderLine.objects.filter(order__in=[second, b2b, closed]).update(product=product)
    client.force_login(agent)

    product_page = client.get(reverse("admin:orders_product_change", args=[product.pk])).text
    assert exposure_url(product) in product_page and "Price-protection exposure" in product_page

    page = client.get(exposure_url(product)).text
    assert 'id="exposure-form"' in page and 'id="exposure-result"' not in page
    assert "Regular price now: 1999.00" in page

    response = client.get(exposure_url(product), {"price": "1799.00"})
    assert response.status_code == 200
    page = response.text
    assert '<td id="exposure-orders">2</td>' in page  # not the B2B order, not the closed window
    assert '<td id="exposure-units">3</td>' in page
    assert '<td id="exposure-amount"><strong>600.00</strong></td>' in page
    assert "An upper bound" in page
    listing = page[page.index('id="exposure-order-list"') :]
    assert listing.index(second.number) < listing.index(first.number)  # the largest gain first
    assert b2b.number not in listing and closed.number not in listing
    assert not Claim.objects.exists()  # looking changes nothing

    # A price above what anyone paid reaches nobody.
    page = client.get(exposure_url(product), {"price": "2500"}).text
    assert '<td id="exposure-orders">0</td>' in page and '<td id="exposure-amount"><strong>0.00</strong></td>' in page


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", "This field is required."),
        ("abc", "Enter a number."),
        ("NaN", "Enter a number."),
        ("-1", "Ensure this value is greater than or equal to 0"),
        ("12.345", "Ensure that there are no more than 2 decimal places."),
        ("1" * 13, "Ensure that there are no more than 12 digits in total."),
    ],
)
def test_a_bad_planned_price_is_a_form_error(client, agent, customer, raw, error):
    product = product_of(in_transit_order(customer))
    client.force_login(agent)
    response = client.get(exposure_url(product), {"price": raw})
    assert response.status_code == 200
    assert "errorlist" in response.text and error in response.text
    assert 'id="exposure-result"' not in response.text


def test_staff_without_the_claims_do_not_see_the_exposure(client, customer):
    product = product_of(in_transit_order(customer))
    finance = factories.StaffFactory(role="finance")
    client.force_login(finance)
    page = client.get(reverse("admin:orders_product_change", args=[product.pk])).text
    assert exposure_url(product) not in page
    assert client.get(exposure_url(product), {"price": "10"}).status_code == 403
    client.force_login(factories.StaffFactory(role="agent"))
    assert client.get(reverse("admin:priceprotect_claim_exposure", args=[999999])).status_code == 404


# --- Settings, revocations and offers -----------------------------------------------------------------


def test_R_PP_3_R_PP_7_the_settings_page_edits_the_single_row(client, supervisor, agent):
    PriceProtectionSettings.current()
    url = reverse("admin:priceprotect_priceprotectionsettings_change", args=[1])
    client.force_login(supervisor)
    page = client.get(url).text
    assert 'name="review_drop_above_percent"' in page and "deletelink" not in page
    assert client.get(reverse("admin:priceprotect_priceprotectionsettings_add")).status_code == 403

    data = {"destination": "points", "review_drop_above_percent": "30.00", "notify_on_price_drop": "on"}
    response = client.post(url, data)
    assert response.status_code == 302
    knobs = PriceProtectionSettings.objects.get()
    assert (knobs.destination, knobs.review_drop_above_percent) == ("points", Decimal("30.00"))
    assert (knobs.notify_on_price_drop, knobs.claim_automatically) == (True, False)

    # Out of range: a form error, nothing saved.
    response = client.post(url, {**data, "review_drop_above_percent": "150.00"})
    assert response.status_code == 200 and "at most 100" in response.text
    assert PriceProtectionSettings.objects.get().review_drop_above_percent == Decimal("30.00")
    assert PriceProtectionSettings.objects.count() == 1

    client.force_login(agent)  # agents review claims; they do not set the rules
    assert client.get(url).status_code == 403


def test_R_PP_6_revocations_left_to_recover_by_hand_are_filtered_for_follow_up(client, agent, customer):
    # A refused order whose coupon was spent: nothing can be taken back automatically.
    spent = in_transit_order(customer, payment_mode="cod")
    price(product_of(spent), "1799.00")
    spent_case = services.file_claim(order=spent, actor=customer)
    ledger.use_coupon(code=Claim.objects.get(pk=spent_case.pk).coupon.code, customer=customer)
    set_milestones(order=spent, cancelled_at=timezone.now())
    # A refused order whose coupon was not used: cancelled, nothing left.
    unused = in_transit_order(customer, payment_mode="cod")
    price(product_of(unused), "1799.00")
    unused_case = services.file_claim(order=unused, actor=customer)
    set_milestones(order=unused, cancelled_at=timezone.now())
    left, recovered = Revocation.objects.get(claim_id=spent_case.pk), Revocation.objects.get(claim_id=unused_case.pk)
    assert left.unrecovered == Decimal("200.00") and recovered.unrecovered == Decimal("0.00")
    client.force_login(agent)

    url = reverse("admin:priceprotect_revocation_changelist")
    page = client.get(url).text
    assert "By left to recover by hand" in page
    assert set(listed(page, spent_case, unused_case)) == {spent_case.number, unused_case.number}
    assert change_url(spent_case) in page  # each row leads to its claim
    assert listed(client.get(url, {"unrecovered": "yes"}).text, spent_case, unused_case) == [spent_case.number]
    assert listed(client.get(url, {"unrecovered": "no"}).text, spent_case, unused_case) == [unused_case.number]
    assert client.get(url, {"cause__exact": "order_cancelled"}).status_code == 200
    assert url + "?unrecovered=yes" in client.get(reverse("admin:index")).text

    # Read-only: nothing to add, change or delete.
    assert client.get(reverse("admin:priceprotect_revocation_add")).status_code == 403
    response = client.post(reverse("admin:priceprotect_revocation_change", args=[left.pk]), {"unrecovered": "0"})
    assert response.status_code == 403
    left.refresh_from_db()
    assert left.unrecovered == Decimal("200.00")


def test_the_price_drop_offers_are_listed_read_only(client, supervisor, customer):
    order = in_transit_order(customer)
    entry = price(product_of(order), "1899.00")
    # As the sweep records it (the sweep itself needs the portal's claim link, tested with the portal).
    offer = PriceDropOffer.objects.create(order=order, price_change=entry, amount=Decimal("100.00"))
    client.force_login(supervisor)
    page = client.get(reverse("admin:priceprotect_pricedropoffer_changelist")).text
    assert order.number in page and "100.00" in page and "1899.00" in page
    assert client.get(reverse("admin:priceprotect_pricedropoffer_change", args=[offer.pk])).status_code == 200
    assert client.get(reverse("admin:priceprotect_pricedropoffer_add")).status_code == 403
