"""The technicians' repair board in the staff dashboard: the board (turnaround against the target, the
centres' closed days, filters), the claim page and its step forms. Every move goes through
warranty.services."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aftersales.cases.models import Case, CaseEvent
from aftersales.common.errors import InvalidTransition, NotAllowed, TransitionConflict
from tests import factories
from tests.dashboard.conftest import form_data, photo
from tests.warranty.conftest import ALL_DOCUMENTS, tv_order_for
from warranty import selectors, services
from warranty.models import CentreClosure, Claim, PartUsed, WarrantySettings

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:warranty_claim_changelist"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Friday 14 March 2025: no public holiday or make-up working day from 20 February on.
TODAY = datetime(2025, 3, 14, 10, 0, tzinfo=SHANGHAI)


def feb(day: int, hour: int) -> datetime:
    return datetime(2025, 2, day, hour, 0, tzinfo=SHANGHAI)


def file(order, *, documents=ALL_DOCUMENTS, **kwargs):
    """A repair claim on the order's line; with every document and sent in, it is accepted at once."""
    return services.file_claim(
        customer=order.customer,
        line=order.lines.get(),
        fault=kwargs.pop("fault", "display"),
        description="Black screen after ten minutes",
        documents=documents,
        photos=[photo()],
        **kwargs,
    )


def change_url(case) -> str:
    return reverse("admin:warranty_claim_change", args=[case.pk])


def step_url(case, step) -> str:
    return reverse(f"admin:warranty_claim_{step}", args=[case.pk])


def message_texts(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def post_step(client, case, step, data=None):
    case.refresh_from_db()
    return client.post(step_url(case, step), {"version": case.version, **(data or {})})


def row(page: str, number: str) -> str:
    """The board's table row of a case."""
    [match] = re.findall(r"<tr[^>]*>(?:(?!</tr>).)*>" + re.escape(number) + r"<(?:(?!</tr>).)*</tr>", page, re.S)
    return match


def listed(page: str, *cases) -> set[str]:
    return {case.number for case in cases if f">{case.number}<" in page}


def received(order, technician, *, at, centre=None, **kwargs):
    case = services.receive(case=file(order, **kwargs), actor=technician, now=at)
    if centre is not None:
        Claim.objects.filter(pk=case.pk).update(centre=centre)
    return case


def diagnosing(order, technician, **kwargs):
    case = services.receive(case=file(order, **kwargs), actor=technician)
    return services.start_diagnosis(case=case, actor=technician)


def excluded(order, technician, *, quote="180.00"):
    return services.diagnose(
        case=diagnosing(order, technician),
        actor=technician,
        outcome="excluded",
        notes="Liquid inside the panel",
        exclusion="accident",
        explanation="Water damage is not covered.",
        quote=quote,
        photos=[photo()],
    )


# --- The board ---------------------------------------------------------------------------------------


def test_the_board_counts_business_days_since_arrival_less_the_centres_closed_days(
    client, technician, customer, centre
):
    with time_machine.travel(TODAY):
        late = received(tv_order_for(customer, days_ago=40), technician, at=feb(20, 15))
        borderline = received(tv_order_for(customer, days_ago=40), technician, at=feb(27, 9))
        elsewhere = received(tv_order_for(customer, days_ago=40), technician, at=feb(27, 9))
        waiting = file(tv_order_for(customer))
        Claim.objects.filter(pk__in=[late.pk, borderline.pk]).update(centre=centre)
        # The centre closed on a Wednesday (counted off) and on a Saturday (not a working day anyway).
        CentreClosure.objects.create(centre=centre, date=date(2025, 3, 5), name="Stock-taking")
        CentreClosure.objects.create(centre=centre, date=date(2025, 3, 8))
        client.force_login(technician)

        page = client.get(reverse(CHANGELIST)).text
        # 20 Feb → 14 Mar: 16 working days, less the Wednesday the centre was closed.
        assert "15 / 10" in row(page, late.number) and "overdue-flag" in row(page, late.number)
        # 27 Feb → 14 Mar: 11 working days: overdue on the shop's calendar, on time at the closed centre.
        assert "10 / 10" in row(page, borderline.number) and "overdue-flag" not in row(page, borderline.number)
        assert "11 / 10" in row(page, elsewhere.number) and "overdue-flag" in row(page, elsewhere.number)
        assert "overdue-flag" not in row(page, waiting.number)
        assert "Accepted: awaiting your unit" in row(page, waiting.number)  # the status label, not its code
        assert "Unit received" in row(page, late.number)
        assert "Shanghai Xuhui service centre" in row(page, late.number)
        assert "Screen or picture" in row(page, late.number)  # the fault, in words
        assert "target of 10 business days" in page
        # Oldest arrival first, the unit not yet sent in last.
        positions = [page.index(f">{c.number}<") for c in (late, borderline, elsewhere, waiting)]
        assert positions[0] < positions[1] and max(positions[1:3]) < positions[3]

        overdue = client.get(reverse(CHANGELIST), {"overdue": "yes"}).text
        assert listed(overdue, late, borderline, elsewhere, waiting) == {late.number, elsewhere.number}
        on_time = client.get(reverse(CHANGELIST), {"overdue": "no"}).text
        assert listed(on_time, late, borderline, elsewhere, waiting) == {borderline.number, waiting.number}

        # The target is a setting: raised, nothing is overdue any more.
        knobs = WarrantySettings.current()
        knobs.turnaround_business_days = 20
        knobs.save()
        page = client.get(reverse(CHANGELIST)).text
        assert "15 / 20" in row(page, late.number) and "overdue-flag" not in page
        assert listed(client.get(reverse(CHANGELIST), {"overdue": "yes"}).text, late, elsewhere) == set()

    # The board counts the page in one go exactly as `centre_business_days` counts one claim.
    spans = {1: (centre.pk, date(2025, 2, 20), date(2025, 3, 14)), 2: (None, date(2025, 2, 27), date(2025, 3, 14))}
    assert (
        selectors.centres_business_days(spans)
        == {
            1: selectors.centre_business_days(centre, date(2025, 2, 20), date(2025, 3, 14)),
            2: selectors.centre_business_days(None, date(2025, 2, 27), date(2025, 3, 14)),
        }
        == {1: 15, 2: 11}
    )


def test_a_shipped_back_unit_stops_the_clock_and_is_never_overdue(client, technician, customer):
    with time_machine.travel(TODAY):
        case = received(tv_order_for(customer, days_ago=40), technician, at=feb(20, 15))
        case = services.start_diagnosis(case=case, actor=technician)
        case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Backlight")
        case = services.repaired(case=case, actor=technician)
        services.ship_back(
            case=case,
            actor=technician,
            carrier="SF",
            tracking_number="SF1",
            now=feb(28, 11),
        )
        client.force_login(technician)
        page = client.get(reverse(CHANGELIST)).text
        assert "6 / 10" in row(page, case.number) and "overdue-flag" not in page


def test_the_board_filters(client, technician, supervisor, customer, centre):
    awaiting = file(tv_order_for(customer))
    in_diagnosis = diagnosing(tv_order_for(customer), technician, fault="audio")
    Claim.objects.filter(pk=in_diagnosis.pk).update(centre=centre)
    appealed = excluded(tv_order_for(customer), technician)
    services.appeal(case=appealed, customer=customer, text="I never dropped it.")
    decided = excluded(tv_order_for(customer), technician)
    services.appeal(case=decided, customer=customer, text="It was like this when it arrived.")
    services.decide_appeal(case=decided, actor=supervisor, overturn=True, note="The seal was intact.")
    cases = (awaiting, in_diagnosis, appealed, decided)
    client.force_login(supervisor)

    def board(**params):
        response = client.get(reverse(CHANGELIST), params)
        assert response.status_code == 200, params
        return listed(response.text, *cases)

    page = client.get(reverse(CHANGELIST)).text
    for title in ("By status", "By workshop", "By overdue", "By appeal", "By service centre", "By fault"):
        assert title in page, title
    assert board() == {c.number for c in cases}
    assert board(status="diagnosing") == {in_diagnosis.number}
    assert board(status="appealed") == {appealed.number}
    assert board(workshop="yes") == {in_diagnosis.number, decided.number}  # decided: overturned, repairing
    assert board(workshop="no") == {awaiting.number, appealed.number}
    assert board(appeal="waiting") == {appealed.number}
    assert board(appeal="decided") == {decided.number}
    assert board(centre__id__exact=centre.pk) == {in_diagnosis.number}
    assert board(fault__exact="audio") == {in_diagnosis.number}
    assert board(diagnosis__exact="excluded") == {appealed.number}
    assert board(diagnosis__exact="covered") == {decided.number}
    assert board(q=in_diagnosis.number) == {in_diagnosis.number}
    assert board(overdue="yes") == set()


def test_the_board_does_not_query_per_row(client, technician, customer, centre, django_assert_max_num_queries):
    client.force_login(technician)

    def add_claims(count):
        for n in range(count):
            case = received(
                tv_order_for(factories.CustomerFactory()),
                technician,
                at=timezone.now() - timedelta(days=5 + n),
                centre=centre if n % 2 else None,
            )
            CentreClosure.objects.get_or_create(centre=centre, date=timezone.localdate() - timedelta(days=n + 1))
            if n % 3 == 0:
                services.start_diagnosis(case=case, actor=technician)

    add_claims(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    add_claims(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse(CHANGELIST)).text
    assert page.count("/ 10<") == 10
    with django_assert_max_num_queries(len(few.captured_queries) + 3):  # the exact count of the candidates
        assert client.get(reverse(CHANGELIST), {"overdue": "yes"}).status_code == 200


def test_a_supervisor_finds_the_overdue_repairs_from_the_dashboard(client, supervisor):
    client.force_login(supervisor)
    index = client.get(reverse("admin:index")).text
    overdue_url = reverse(CHANGELIST) + "?overdue=yes"
    assert overdue_url in index and "Overdue repairs" in index
    board = client.get(reverse(CHANGELIST))
    assert board.status_code == 200 and overdue_url in board.text


def test_a_customer_cannot_reach_the_board_or_the_steps(client, customer, tv_order):
    case = file(tv_order)
    client.force_login(customer)
    for url in (reverse(CHANGELIST), change_url(case)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url
    response = client.post(step_url(case, "receive"), {"version": case.version})
    assert response.status_code == 302 and "login" in response["Location"]
    case.refresh_from_db()
    assert case.status == "awaiting_unit"


# --- The claim page: facts and the forms open now ---------------------------------------------------------


def test_the_claim_page_shows_the_facts_and_only_the_steps_open_to_this_user(
    client, agent, technician, supervisor, tv_order
):
    case = file(tv_order)
    attachment = case.attachments.get()
    client.force_login(agent)
    page = client.get(change_url(case)).text
    assert reverse("portal:attachment-download", args=[attachment.pk]) in page  # the customer's photo
    assert "Black screen after ten minutes" in page and "None missing." in page
    assert 'id="claim-receive"' in page and 'id="claim-diagnose"' not in page
    assert form_data(page, "claim-receive")["version"] == str(case.version)

    services.receive(case=case, actor=agent)
    assert "No warranty step can be taken by you from this status." in client.get(change_url(case)).text
    client.force_login(technician)
    page = client.get(change_url(case)).text
    assert 'id="claim-start-diagnosis"' in page and 'id="claim-receive"' not in page

    services.start_diagnosis(case=case, actor=technician)
    page = client.get(change_url(case)).text
    assert 'id="claim-diagnose"' in page
    form = re.search(r'<form[^>]*id="claim-diagnose"[^>]*>', page).group(0)
    assert 'enctype="multipart/form-data"' in form
    assert re.search(r'<input type="file" name="photos"[^>]*multiple', page)
    assert 'value="accident"' in page  # the exclusions to choose from
    client.force_login(agent)
    assert 'id="claim-diagnose"' not in client.get(change_url(case)).text


def test_a_claim_with_missing_documents_waits_for_an_agent_to_accept_book_or_reject(client, agent, tv_order, centre):
    """R-WAR-5: a claim sent in is accepted, an on-site one has its visit booked: each page offers its own."""
    case = file(tv_order, documents=["original_invoice", "accessories"])
    assert case.status == "submitted"
    client.force_login(agent)
    page = client.get(change_url(case)).text
    assert "Warranty card" in page and "Original packaging" in page  # the missing documents
    assert 'id="claim-accept"' in page and 'id="claim-reject"' in page and 'id="claim-book-visit"' not in page
    response = post_step(client, case, "book_visit", {"visit_at": "2099-01-01T10:00"})
    assert message_texts(response) == [
        ("error", "The customer sends this unit in: accept the claim instead of booking a visit.")
    ]

    tv_order.customer.region = "上海"
    tv_order.customer.save()
    centre.brands.add(tv_order.lines.get().product.brand)
    case = file(tv_order, documents=["original_invoice", "accessories"], mode="on_site")
    page = client.get(change_url(case)).text
    assert 'id="claim-book-visit"' in page and 'id="claim-reject"' in page and 'id="claim-accept"' not in page
    assert 'type="datetime-local" name="visit_at"' in page

    response = post_step(client, case, "book_visit", {"visit_at": "not a time"})
    assert [level for level, _ in message_texts(response)] == ["error"]
    case.refresh_from_db()
    assert case.status == "submitted"

    visit = (timezone.localtime() + timedelta(days=2)).replace(hour=14, minute=30, second=0, microsecond=0)
    response = post_step(client, case, "book_visit", {"visit_at": visit.strftime("%Y-%m-%dT%H:%M")})
    assert ("success", f"Case {case.number} is now: Accepted: technician visit booked.") in message_texts(response)
    case.refresh_from_db()
    assert case.status == "visit_booked" and Claim.objects.get(pk=case.pk).visit_at == visit


def test_reject_needs_a_reason(client, agent, tv_order):
    case = file(tv_order, documents=["original_invoice"])
    client.force_login(agent)
    response = post_step(client, case, "reject", {"reason": "  "})
    [(level, text)] = message_texts(response)
    assert level == "error" and "Tell the customer why the claim is rejected." in text
    post_step(client, case, "reject", {"reason": "The serial number was removed."})
    case.refresh_from_db()
    assert case.status == "rejected"


# --- Posting the steps ------------------------------------------------------------------------------------


def test_a_covered_repair_through_the_dashboard(client, agent, technician, tv_order):
    case = file(tv_order)
    client.force_login(agent)
    response = post_step(client, case, "receive")
    assert response.status_code == 302 and response["Location"] == change_url(case)
    assert ("success", f"Case {case.number} is now: Unit received.") in message_texts(response)
    client.force_login(technician)
    post_step(client, case, "start_diagnosis")
    post_step(client, case, "diagnose", {"outcome": "covered", "notes": "Backlight driver failed"})
    case.refresh_from_db()
    assert case.status == "repairing"

    response = post_step(client, case, "add_part", {"name": "Backlight driver board", "quantity": "2"})
    assert ("success", "Part recorded: 2 × Backlight driver board.") in message_texts(response)
    page = client.get(change_url(case)).text
    assert "2 × Backlight driver board" in page  # the running list
    assert 'name="unit_price"' not in page  # covered: parts are free
    post_step(client, case, "repaired", {"notes": "Board replaced"})
    case.refresh_from_db()
    assert case.status == "quality_check"
    assert 'id="claim-ship-back"' in client.get(change_url(case)).text
    post_step(client, case, "ship_back", {"carrier": "SF Express", "tracking_number": "SF1234567"})

    case.refresh_from_db()
    assert case.status == "shipped_back"
    claim = Claim.objects.get(pk=case.pk)
    assert claim.diagnosis == "covered" and claim.diagnosis_notes == "Backlight driver failed"
    assert claim.received_at and claim.diagnosed_at and claim.repaired_at and claim.shipped_back_at
    assert (claim.outbound_carrier, claim.outbound_tracking_number) == ("SF Express", "SF1234567")
    assert list(claim.parts.values_list("name", "quantity", "unit_price")) == [
        ("Backlight driver board", 2, Decimal("0.00"))
    ]
    steps = CaseEvent.objects.filter(case=case, type=CaseEvent.Type.TRANSITION).order_by("at", "id")
    assert [(e.to_status, e.actor) for e in steps][-5:] == [
        ("received", agent),
        ("diagnosing", technician),
        ("repairing", technician),
        ("quality_check", technician),
        ("shipped_back", technician),
    ]
    page = client.get(change_url(case)).text
    assert "No warranty step can be taken by you from this status." in page


def test_an_exclusion_with_evidence_and_a_paid_repair_shipped_once_paid(client, agent, technician, customer, tv_order):
    case = diagnosing(tv_order, technician)
    client.force_login(technician)
    response = post_step(
        client,
        case,
        "diagnose",
        {
            "outcome": "excluded",
            "notes": "Liquid inside the panel",
            "exclusion": "accident",
            "explanation": "Water damage is not covered by the warranty.",
            "quote": "180.00",
            "photos": [photo(), photo()],
        },
    )
    assert message_texts(response)[0][0] == "success"
    case.refresh_from_db()
    assert case.status == "excluded" and case.deadline_action == "quote_lapsed"
    claim = Claim.objects.get(pk=case.pk)
    assert (claim.exclusion, claim.quote_amount) == ("accident", Decimal("180.00"))
    evidence = case.attachments.filter(uploaded_by=technician)
    assert evidence.count() == 2
    page = client.get(change_url(case)).text
    for attachment in evidence:
        assert reverse("portal:attachment-download", args=[attachment.pk]) in page

    case = services.accept_quote(case=case, customer=customer)
    post_step(client, case, "add_part", {"name": "Panel", "quantity": "1", "unit_price": "150.00"})
    assert PartUsed.objects.get(claim_id=case.pk).unit_price == Decimal("150.00")
    post_step(client, case, "repaired")
    response = post_step(client, case, "ship_back", {"carrier": "SF", "tracking_number": "SF2"})
    level, text = message_texts(response)[-1]
    assert level == "error" and "has not paid for the repair (180.00)" in text
    case.refresh_from_db()
    assert case.status == "quality_check"

    client.force_login(agent)
    page = client.get(change_url(case)).text
    assert 'id="claim-record-payment"' in page and "180.00 (unpaid)" in client.get(reverse(CHANGELIST)).text
    response = post_step(client, case, "record_payment", {"reference": "Alipay 2025001"})
    assert ("success", f"The payment for case {case.number} is recorded.") in message_texts(response)
    assert 'id="claim-record-payment"' not in client.get(change_url(case)).text
    client.force_login(technician)
    post_step(client, case, "ship_back", {"carrier": "SF", "tracking_number": "SF2"})
    case.refresh_from_db()
    assert case.status == "shipped_back"


def test_bad_input_is_a_message_and_changes_nothing(client, technician, tv_order):
    case = diagnosing(tv_order, technician)
    client.force_login(technician)
    for count, data in enumerate(
        (
            {"notes": "Looked at it"},  # no outcome
            {"outcome": "covered", "notes": "  "},
            {"outcome": "excluded", "notes": "Dropped", "exclusion": "accident", "explanation": "Drop damage"},
            {
                "outcome": "excluded",
                "notes": "Dropped",
                "exclusion": "accident",
                "explanation": "Drop damage",
                "quote": "a lot",
                "photos": [photo()],
            },
            {"outcome": "excluded", "notes": "Dropped", "exclusion": "x", "explanation": "x", "photos": [photo()]},
        ),
        start=1,
    ):
        response = post_step(client, case, "diagnose", data)
        assert response.status_code == 302
        # No redirect is followed, so the messages pile up: one more error each time.
        assert [level for level, _ in message_texts(response)] == ["error"] * count, data
    assert "Choose the diagnosis." in message_texts(response)[0][1]
    assert "Enter an amount above zero" in message_texts(response)[3][1]
    case.refresh_from_db()
    assert case.status == "diagnosing"
    claim = Claim.objects.get(pk=case.pk)
    assert claim.diagnosis == "" and claim.diagnosed_at is None
    assert not case.attachments.filter(uploaded_by=technician).exists()

    services.diagnose(case=case, actor=technician, outcome="covered", notes="Backlight")
    for data in ({"name": "Board", "quantity": "many"}, {"name": "", "quantity": "1"}, {"name": "Board"}):
        response = post_step(client, case, "add_part", data)
        assert message_texts(response)[-1][0] == "error", data
    assert not PartUsed.objects.exists()
    case = services.repaired(case=case, actor=technician)
    for data in ({"tracking_number": "SF1"}, {"carrier": "SF", "tracking_number": " "}):
        response = post_step(client, case, "ship_back", data)
        assert message_texts(response)[-1][0] == "error" and "This field is required." in message_texts(response)[-1][1]
    response = post_step(client, case, "fail_quality_check", {"notes": ""})
    assert "Write down what failed." in message_texts(response)[-1][1]
    case.refresh_from_db()
    assert case.status == "quality_check"
    assert Claim.objects.get(pk=case.pk).shipped_back_at is None


def test_a_stale_page_or_a_step_from_the_wrong_status_is_a_message(client, agent, technician, tv_order):
    case = file(tv_order)
    client.force_login(agent)
    stale_version = case.version
    services.receive(case=case, actor=technician)  # someone else moved it meanwhile
    response = client.post(step_url(case, "receive"), {"version": stale_version})
    assert message_texts(response) == [("error", str(TransitionConflict.default_message))]
    case.refresh_from_db()
    assert case.status == "received" and case.events.filter(to_status="received").count() == 1

    client.force_login(technician)
    response = client.post(step_url(case, "start_diagnosis"), {})  # no version: not from a page
    assert message_texts(response)[-1] == ("error", str(TransitionConflict.default_message))
    response = post_step(client, case, "repaired")
    assert message_texts(response)[-1] == ("error", str(InvalidTransition.default_message))
    case.refresh_from_db()
    assert case.status == "received"


def test_only_a_supervisor_decides_an_appeal(client, technician, supervisor, customer, tv_order):
    case = excluded(tv_order, technician)
    services.appeal(case=case, customer=customer, text="I never dropped it.")
    client.force_login(technician)
    page = client.get(change_url(case)).text
    assert "I never dropped it." in page and 'id="claim-decide-appeal"' not in page
    response = post_step(client, case, "decide_appeal", {"decision": "overturn", "note": "Fine"})
    assert message_texts(response) == [("error", str(NotAllowed.default_message))]

    client.force_login(supervisor)
    page = client.get(change_url(case)).text
    assert 'id="claim-decide-appeal"' in page and 'value="overturn"' in page
    response = post_step(client, case, "decide_appeal", {"note": "Fine"})
    assert "Choose to overturn or to uphold the exclusion." in message_texts(response)[-1][1]
    response = post_step(client, case, "decide_appeal", {"decision": "overturn", "note": " "})
    assert "Explain the decision to the customer." in message_texts(response)[-1][1]
    case.refresh_from_db()
    assert case.status == "appealed"

    post_step(client, case, "decide_appeal", {"decision": "overturn", "note": "The seal was intact."})
    case.refresh_from_db()
    assert case.status == "repairing"
    assert Claim.objects.get(pk=case.pk).diagnosis == "covered"
    assert Case.objects.get(pk=case.pk).events.filter(to_status="repairing", actor=supervisor).exists()


def test_an_upheld_exclusion_goes_back_unrepaired_through_the_dashboard(
    client, agent, supervisor, technician, tv_order
):
    case = excluded(tv_order, technician, quote=None)
    services.appeal(case=case, customer=tv_order.customer, text="Not my fault.")
    client.force_login(supervisor)
    post_step(client, case, "decide_appeal", {"decision": "uphold", "note": "The photos show liquid."})
    case.refresh_from_db()
    assert case.status == "excluded"
    case = services.decline_quote(case=case, customer=tv_order.customer)
    client.force_login(agent)
    assert 'id="claim-ship-back-unrepaired"' in client.get(change_url(case)).text
    post_step(client, case, "ship_back_unrepaired", {"carrier": "EMS", "tracking_number": "EMS1"})
    case.refresh_from_db()
    assert case.status == "returned_unrepaired"


def test_R_WAR_5_a_part_or_payment_form_posted_twice_writes_once(client, agent, technician, customer, tv_order):
    """The claim page's part and payment forms carry the case version; posting one again (a double
    click, a reload) is refused with the conflict message instead of a second part or payment."""
    case = services.accept_quote(case=excluded(tv_order, technician), customer=customer)
    client.force_login(technician)
    form = {"version": case.version, "name": "Panel", "quantity": "1", "unit_price": "150.00"}
    first = client.post(step_url(case, "add_part"), form)
    assert message_texts(first)[-1][0] == "success"
    again = client.post(step_url(case, "add_part"), form)
    assert message_texts(again)[-1] == ("error", str(TransitionConflict.default_message))
    assert PartUsed.objects.filter(claim_id=case.pk).count() == 1

    client.force_login(agent)
    case.refresh_from_db()
    form = {"version": case.version, "reference": "Alipay 1"}
    assert message_texts(client.post(step_url(case, "record_payment"), form))[-1][0] == "success"
    again = client.post(step_url(case, "record_payment"), form)
    assert message_texts(again)[-1] == ("error", str(TransitionConflict.default_message))
    assert CaseEvent.objects.filter(case=case, note__startswith="Payment for the repair").count() == 1
