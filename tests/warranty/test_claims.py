"""Warranty claims through `warranty.services`: units, filing, the repair flow and its rules
(R-WAR-1 … R-WAR-10)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from aftersales.cases.deadlines import sweep_due_deadlines
from aftersales.cases.models import Case, CaseEvent, Notification
from aftersales.common.errors import InvalidTransition, NotAllowed, PolicyRefused, TransitionConflict, ValidationFailed
from returns.models import ReturnRequest
from tests.returns.test_submit import photo
from tests.warranty.conftest import ALL_DOCUMENTS, tv_order_for
from warranty import services
from warranty.models import Claim, PartUsed, Unit, WarrantySettings

pytestmark = pytest.mark.django_db


def file(order, *, fault="display", remedy="repair", documents=ALL_DOCUMENTS, **kwargs):
    return services.file_claim(
        customer=order.customer,
        line=order.lines.get(),
        fault=fault,
        description=kwargs.pop("description", "Black screen after ten minutes"),
        remedy=remedy,
        documents=documents,
        photos=kwargs.pop("photos", [photo()]),
        **kwargs,
    )


def repaired_and_shipped(case, technician, *, now=None):
    case = services.receive(case=case, actor=technician, now=now)
    case = services.start_diagnosis(case=case, actor=technician, now=now)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Backlight driver failed", now=now)
    case = services.repaired(case=case, actor=technician, now=now)
    return services.ship_back(case=case, actor=technician, carrier="SF", tracking_number="SF100", now=now)


# --- Units (R-WAR-1) -------------------------------------------------------------------------------------


def test_R_WAR_1_a_serial_is_registered_once_per_line_and_never_reveals_other_customers(customer, other_customer):
    order = tv_order_for(customer)
    line = order.lines.get()
    unit = services.register_unit(line=line, serial_number=" ab 12-34 ", source="customer", customer=customer)
    assert unit.serial_number == "AB12-34"
    assert services.register_unit(line=line, serial_number="ab12-34", source="customer", customer=customer) == unit
    theirs = tv_order_for(other_customer).lines.get()
    # The same serial on someone else's line is accepted like any other: nothing tells them it exists.
    same = services.register_unit(line=theirs, serial_number="AB12-34", source="customer", customer=other_customer)
    assert same.pk != unit.pk and Unit.objects.filter(serial_number="AB12-34").count() == 2
    with pytest.raises(NotAllowed):
        services.register_unit(line=line, serial_number="XYZ", source="customer", customer=other_customer)
    with pytest.raises(ValidationFailed) as full:  # one unit on the line, already registered
        services.register_unit(line=line, serial_number="OTHER1", source="customer", customer=customer)
    assert "serial_number" in full.value.fields
    with pytest.raises(ValidationFailed):
        services.register_unit(line=line, serial_number="<script>", source="customer", customer=customer)


# --- Filing ------------------------------------------------------------------------------------------------


def test_R_WAR_2_a_repair_on_day_20_is_routed_and_accepted_at_once(tv_order, centre):
    tv_order.customer.region = "上海"
    tv_order.customer.save()
    product = tv_order.lines.get().product
    centre.brands.add(product.brand)
    case = file(tv_order)
    claim = Claim.objects.get(case=case)
    assert case.kind == "warranty" and case.status == "awaiting_unit" and case.deadline_action == "expire_unsent"
    assert claim.centre == centre and claim.missing_documents == [] and claim.fault == "display"
    assert centre.address in case.events.filter(to_status="awaiting_unit").get().note
    assert case.attachments.count() == 1


def test_R_WAR_2_return_and_exchange_are_refused_on_day_20_and_handed_to_returns_on_day_5(customer):
    late = tv_order_for(customer, days_ago=20)
    for remedy in ("return", "exchange"):
        with pytest.raises(PolicyRefused) as refused:
            file(late, remedy=remedy)
        assert refused.value.rule == "R-WAR-2"
    early = tv_order_for(customer, days_ago=5)
    case = file(early, remedy="exchange")
    assert case.kind == "exchange" and ReturnRequest.objects.get(case=case).reason == "quality"
    assert not Claim.objects.exists()


def test_R_WAR_2_out_of_warranty_is_refused(customer):
    order = tv_order_for(customer, days_ago=400)
    with pytest.raises(PolicyRefused) as refused:
        file(order)
    assert refused.value.rule == "R-WAR-2" and "paid repair" in refused.value.message


def test_R_WAR_4_no_original_invoice_blocks_and_other_gaps_are_recorded(tv_order):
    with pytest.raises(PolicyRefused) as refused:
        file(tv_order, documents=["warranty_card", "accessories", "packaging", "manual"])
    assert refused.value.rule == "R-WAR-4" and "documents" in refused.value.fields
    case = file(tv_order, documents=["original_invoice", "accessories"])
    claim = Claim.objects.get(case=case)
    assert claim.missing_documents == ["warranty_card", "packaging", "manual"]
    assert case.status == "submitted"  # something is missing: an agent looks first


def test_bad_input_is_a_field_error_and_another_customers_line_is_refused(tv_order, other_customer):
    with pytest.raises(ValidationFailed) as bad:
        services.file_claim(
            customer=tv_order.customer, line=tv_order.lines.get(), fault="nope", description=" ", remedy="x"
        )
    assert set(bad.value.fields) == {"fault", "description", "remedy"}
    with pytest.raises(NotAllowed):
        services.file_claim(customer=other_customer, line=tv_order.lines.get(), fault="display", description="x")


def test_R_WAR_7_an_on_site_visit_needs_a_centre_that_visits_the_region(tv_order, centre, agent):
    tv_order.customer.region = "上海"
    tv_order.customer.save()
    with pytest.raises(PolicyRefused) as refused:  # the centre does not serve this brand yet
        file(tv_order, mode="on_site")
    assert refused.value.rule == "R-WAR-7"
    centre.brands.add(tv_order.lines.get().product.brand)
    case = file(tv_order, mode="on_site")
    assert case.status == "submitted"  # an agent books the visit
    with pytest.raises(ValidationFailed):
        services.book_visit(case=case, actor=agent, visit_at=timezone.now() - timedelta(hours=1))
    case = services.book_visit(case=case, actor=agent, visit_at=timezone.now() + timedelta(days=1))
    assert case.status == "visit_booked"


def test_R_WAR_5_a_claim_is_accepted_as_its_mode_asks_sent_in_or_visited(tv_order, centre, agent):
    """Accepting an on-site claim would ask for the unit to be sent (and expire it when it is not):
    refused; booking a visit on a claim the customer sends in: refused. Neither changes the claim."""
    sent_in = file(tv_order, documents=["original_invoice"])  # something missing: an agent decides
    with pytest.raises(InvalidTransition) as refused:
        services.book_visit(case=sent_in, actor=agent, visit_at=timezone.now() + timedelta(days=1))
    assert "accept the claim instead of booking a visit" in str(refused.value.message)
    sent_in.refresh_from_db()
    assert sent_in.status == "submitted" and Claim.objects.get(case=sent_in).visit_at is None
    assert services.accept(case=sent_in, actor=agent).status == "awaiting_unit"

    tv_order.customer.region = "上海"
    tv_order.customer.save()
    centre.brands.add(tv_order.lines.get().product.brand)
    visited = file(tv_order, mode="on_site")
    with pytest.raises(InvalidTransition) as refused:
        services.accept(case=visited, actor=agent)
    assert "book the visit instead" in str(refused.value.message)
    visited.refresh_from_db()
    assert visited.status == "submitted" and visited.deadline_at is None  # no ship-in deadline was set
    visited = services.book_visit(case=visited, actor=agent, visit_at=timezone.now() + timedelta(days=1))
    assert visited.status == "visit_booked" and visited.deadline_action == ""
    assert "send the unit" not in visited.events.get(to_status="visit_booked").note


# --- The repair ------------------------------------------------------------------------------------------


def test_R_WAR_5_a_covered_repair_from_arrival_to_closing(tv_order, technician, agent):
    case = file(tv_order)
    case = services.enter_tracking(case=case, customer=tv_order.customer, carrier="SF", tracking_number="SF1")
    assert case.deadline_at is None  # sent: it no longer expires
    with pytest.raises(NotAllowed):  # agents move parcels; technicians diagnose
        services.start_diagnosis(case=services.receive(case=case, actor=agent), actor=agent)
    case.refresh_from_db()
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Backlight driver failed")
    assert case.status == "repairing" and case.deadline_action == "long_repair"
    part = services.add_part(case=case, actor=technician, name="LED driver board", quantity=1, unit_price="120.00")
    assert part.unit_price == Decimal("0.00")  # under warranty the part is free
    case = services.repaired(case=case, actor=technician)
    case = services.fail_quality_check(case=case, actor=technician, notes="Flicker remains")
    assert case.status == "repairing"
    case = services.repaired(case=case, actor=technician)
    case = services.ship_back(case=case, actor=technician, carrier="SF", tracking_number="SF2")
    assert case.status == "shipped_back" and case.deadline_action == "confirm_receipt"
    case = services.confirm_receipt(case=case, actor=tv_order.customer)
    assert case.status == "closed" and case.closed_at is not None
    steps = list(case.events.filter(type=CaseEvent.Type.TRANSITION).values_list("to_status", flat=True))
    assert steps == [
        "awaiting_unit",
        "received",
        "diagnosing",
        "repairing",
        "quality_check",
        "repairing",
        "quality_check",
        "shipped_back",
        "closed",
    ]


def test_R_WAR_8_days_in_repair_extend_the_next_claims_coverage(tv_order, technician):
    case = file(tv_order)
    received = timezone.now() - timedelta(days=12)
    case = services.receive(case=case, actor=technician, now=received)
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Power board")
    case = services.repaired(case=case, actor=technician)
    case = services.ship_back(case=case, actor=technician, carrier="SF", tracking_number="SF3")
    claim = Claim.objects.get(case=case)
    assert claim.repair_days == 12
    assert "extended by the 12 days" in case.events.get(to_status="shipped_back").note
    from warranty import selectors

    cover = selectors.line_coverage(tv_order.lines.get())
    assert cover.extension_days == 12 and cover.ends_at - cover.base_ends_at == timedelta(days=12)


def test_R_WAR_9_a_third_failure_of_the_same_fault_gets_a_replacement(tv_order, technician):
    for _round in range(2):
        case = repaired_and_shipped(file(tv_order), technician)
        services.confirm_receipt(case=case, actor=tv_order.customer)
    with pytest.raises(PolicyRefused):  # a different fault is just another repair
        file(tv_order, fault="audio", remedy="exchange")
    case = file(tv_order, remedy="exchange")
    assert case.kind == "exchange" and case.status == "awaiting_parcel"  # granted: approved at once
    assert case.events.get(type="opened").data["entitled_by"] == "R-WAR-9"
    assert ReturnRequest.objects.get(case=case).exchange_product == tv_order.lines.get().product


def test_R_WAR_3_an_exclusion_needs_reason_evidence_and_explanation_and_a_quote_is_paid_before_shipping(
    tv_order, technician, agent
):
    case = services.start_diagnosis(case=services.receive(case=file(tv_order), actor=technician), actor=technician)
    with pytest.raises(ValidationFailed) as missing:
        services.diagnose(case=case, actor=technician, outcome="excluded", notes="Cracked panel")
    assert set(missing.value.fields) == {"exclusion", "explanation", "photos"}
    case = services.diagnose(
        case=case,
        actor=technician,
        outcome="excluded",
        notes="Cracked panel",
        exclusion="accident",
        explanation="The panel is cracked from an impact; impacts are not covered.",
        quote="850.00",
        photos=[photo("crack.jpg")],
    )
    assert case.status == "excluded" and case.deadline_action == "quote_lapsed"
    note = case.events.get(to_status="excluded").note
    assert "Accidental damage" in note and "850.00" in note and "appeal" in note
    case = services.accept_quote(case=case, customer=tv_order.customer)
    assert case.status == "repairing" and Claim.objects.get(case=case).amount_due == Decimal("850.00")
    assert case.deadline_at is None  # a paid repair earns no R-WAR-10 offer
    part = services.add_part(case=case, actor=technician, name="Panel", quantity=1, unit_price="700.00")
    assert part.unit_price == Decimal("700.00")
    case = services.repaired(case=case, actor=technician)
    with pytest.raises(PolicyRefused):
        services.ship_back(case=case, actor=technician, carrier="SF", tracking_number="SF4")
    services.record_payment(case=case, actor=agent, reference="PAY-1")
    case.refresh_from_db()
    case = services.ship_back(case=case, actor=technician, carrier="SF", tracking_number="SF4")
    assert case.status == "shipped_back" and Claim.objects.get(case=case).repair_days == 0  # paid: no extension


def excluded(order, technician, *, quote="850.00"):
    case = services.start_diagnosis(case=services.receive(case=file(order), actor=technician), actor=technician)
    return services.diagnose(
        case=case,
        actor=technician,
        outcome="excluded",
        notes="Liquid inside",
        exclusion="accident",
        explanation="Liquid damage.",
        quote=quote,
        photos=[photo()],
    )


def test_R_WAR_3_an_appeal_once_goes_to_a_supervisor_who_may_overturn(tv_order, technician, supervisor):
    case = excluded(tv_order, technician)
    case = services.appeal(case=case, customer=tv_order.customer, text="It was never near water.")
    assert case.status == "appealed"
    assert Notification.objects.filter(user=supervisor, case=case).exists()
    with pytest.raises(NotAllowed):  # a technician does not judge their own diagnosis
        services.decide_appeal(case=case, actor=technician, overturn=True, note="ok")
    case = services.decide_appeal(case=case, actor=supervisor, overturn=True, note="The sensor was faulty.")
    assert case.status == "repairing" and Claim.objects.get(case=case).diagnosis == "covered"
    assert case.deadline_action == "long_repair"


def test_R_WAR_3_an_upheld_exclusion_cannot_be_appealed_again_and_declining_returns_the_unit(
    tv_order, technician, supervisor, agent
):
    case = excluded(tv_order, technician)
    case = services.appeal(case=case, customer=tv_order.customer, text="Please check again.")
    case = services.decide_appeal(case=case, actor=supervisor, overturn=False, note="Corrosion on the board.")
    assert case.status == "excluded" and case.deadline_action == "quote_lapsed"
    with pytest.raises(PolicyRefused) as again:
        services.appeal(case=case, customer=tv_order.customer, text="Again")
    assert again.value.rule == "R-WAR-3"
    case = services.decline_quote(case=case, customer=tv_order.customer)
    assert case.status == "returning"
    case = services.ship_back_unrepaired(case=case, actor=agent, carrier="SF", tracking_number="SF5")
    assert case.status == "returned_unrepaired" and case.closed_at is not None


def test_R_WAR_3_a_lapsed_quote_sends_the_unit_back_unrepaired(tv_order, technician):
    case = excluded(tv_order, technician)
    sweep_due_deadlines(now=case.deadline_at + timedelta(seconds=1))
    case.refresh_from_db()
    assert case.status == "returning"


def test_R_WAR_5_irreparable_becomes_a_replacement_or_a_refund_when_no_longer_sold(customer, technician):
    order = tv_order_for(customer)
    case = services.start_diagnosis(case=services.receive(case=file(order), actor=technician), actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="irreparable", notes="Panel unavailable")
    claim = Claim.objects.get(case=case)
    assert case.status == "handed_over" and claim.handed_over_to.kind == "reissue"
    assert claim.handed_over_to.status == "reissue_approved"

    gone = tv_order_for(customer)
    product = gone.lines.get().product
    product.active = False
    product.save(update_fields=["active"])
    case = services.start_diagnosis(case=services.receive(case=file(gone), actor=technician), actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="irreparable", notes="No parts")
    refund_case = Claim.objects.get(case=case).handed_over_to
    assert refund_case.kind == "refund_only" and refund_case.status == "refund_pending"
    assert refund_case.refunds.get().amount == Decimal("3999.00")


def test_R_WAR_10_a_repair_past_30_days_offers_a_free_replacement(tv_order, technician):
    received = timezone.now() - timedelta(days=31)
    case = services.receive(case=file(tv_order), actor=technician, now=received)
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Waiting for a part")
    with pytest.raises(PolicyRefused):  # not offered yet
        services.take_replacement(case=case, customer=tv_order.customer)
    sweep_due_deadlines()
    case.refresh_from_db()
    assert Claim.objects.get(case=case).replacement_offered_at is not None
    assert Notification.objects.filter(user=tv_order.customer, case=case, title__contains="replacement").exists()
    sweep_due_deadlines()  # offered once
    assert Notification.objects.filter(user=tv_order.customer, case=case, title__contains="replacement").count() == 1
    case = services.take_replacement(case=case, customer=tv_order.customer)
    assert case.status == "handed_over"
    assert Case.objects.get(pk=Claim.objects.get(case=case).handed_over_to_id).kind == "reissue"


def test_R_WAR_10_is_a_knob(tv_order, technician):
    WarrantySettings.objects.update_or_create(pk=1, defaults={"long_repair_days": 5})
    case = services.receive(case=file(tv_order), actor=technician, now=timezone.now() - timedelta(days=6))
    sweep_due_deadlines()
    assert Claim.objects.get(case=case).replacement_offered_at is not None


def test_an_unsent_unit_expires_the_claim_and_the_customer_may_cancel_before(tv_order):
    case = file(tv_order)
    sweep_due_deadlines(now=case.deadline_at + timedelta(seconds=1))
    case.refresh_from_db()
    assert case.status == "expired"
    other = file(tv_order)
    assert services.cancel(case=other, customer=tv_order.customer).status == "cancelled"


def test_a_shipped_back_unit_closes_by_itself_after_the_confirmation_days(tv_order, technician):
    case = repaired_and_shipped(file(tv_order), technician)
    sweep_due_deadlines(now=case.deadline_at + timedelta(seconds=1))
    case.refresh_from_db()
    assert case.status == "closed"


def test_customers_cannot_take_staff_steps_and_steps_check_the_status(tv_order, other_customer, technician):
    case = file(tv_order)
    with pytest.raises(NotAllowed):
        services.receive(case=case, actor=tv_order.customer)
    with pytest.raises(NotAllowed):
        services.cancel(case=case, customer=other_customer)
    with pytest.raises(InvalidTransition):
        services.repaired(case=case, actor=technician)
    assert not PartUsed.objects.exists()


def test_R_WAR_8_and_9_a_repair_filed_before_the_serial_was_registered_still_counts_for_that_unit(tv_order, technician):
    """A line of one is one unit: registering its serial after a repair keeps that repair's days
    (R-WAR-8) and count (R-WAR-9) with it."""
    from warranty import selectors

    line = tv_order.lines.get()
    case = services.receive(case=file(tv_order), actor=technician, now=timezone.now() - timedelta(days=12))
    case = services.start_diagnosis(case=case, actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Backlight")
    case = services.repaired(case=case, actor=technician)
    services.confirm_receipt(
        case=services.ship_back(case=case, actor=technician, carrier="SF", tracking_number="SF6"),
        actor=tv_order.customer,
    )
    unit = services.register_unit(line=line, serial_number="TV-0001", source="customer", customer=tv_order.customer)
    assert selectors.line_coverage(line, unit).extension_days == 12 == selectors.line_coverage(line).extension_days
    with pytest.raises(PolicyRefused):  # one repair so far: another repair, not yet a replacement
        file(tv_order, remedy="exchange", unit=unit)
    services.confirm_receipt(case=repaired_and_shipped(file(tv_order, unit=unit), technician), actor=tv_order.customer)
    case = file(tv_order, remedy="exchange", unit=unit)
    assert case.kind == "exchange" and case.events.get(type="opened").data["entitled_by"] == "R-WAR-9"


def test_amounts_out_of_range_are_field_errors_never_crashes(tv_order, technician):
    case = services.start_diagnosis(case=services.receive(case=file(tv_order), actor=technician), actor=technician)
    for quote in ("1e100", "1e20", "-5", "0", "12.345", "abc", "NaN"):
        with pytest.raises(ValidationFailed) as bad:
            services.diagnose(
                case=case,
                actor=technician,
                outcome="excluded",
                notes="x",
                exclusion="accident",
                explanation="y",
                quote=quote,
                photos=[photo()],
            )
        assert "quote" in bad.value.fields, quote
    case.refresh_from_db()
    assert case.status == "diagnosing"


def test_a_refused_evidence_photo_is_keyed_by_its_place_and_leaves_no_file(tv_order, technician, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = services.start_diagnosis(case=services.receive(case=file(tv_order), actor=technician), actor=technician)
    before = {p for p in settings.PRIVATE_MEDIA_ROOT.rglob("*") if p.is_file()}
    fake = SimpleUploadedFile("evil.jpg", b"not an image", content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as bad:
        services.diagnose(
            case=case,
            actor=technician,
            outcome="excluded",
            notes="x",
            exclusion="accident",
            explanation="y",
            photos=[photo(), fake],
        )
    assert "photos.1" in bad.value.fields
    assert {p for p in settings.PRIVATE_MEDIA_ROOT.rglob("*") if p.is_file()} == before


# --- Optimistic version checks on the steps that move no status -----------------------------------------


def test_R_WAR_5_a_part_is_added_as_of_the_version_read_so_a_form_posted_twice_adds_one(tv_order, technician):
    """add_part moves the case's version on: a second post of the same form (the same version) and a
    form read before another change are a TransitionConflict, not a second write."""
    case = services.start_diagnosis(case=services.receive(case=file(tv_order), actor=technician), actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Backlight driver failed")
    first, again = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)  # one page, posted twice
    services.add_part(case=first, actor=technician, name="LED driver board")
    assert first.version == Case.objects.get(pk=case.pk).version == case.version + 1
    with pytest.raises(TransitionConflict):
        services.add_part(case=again, actor=technician, name="LED driver board")
    assert PartUsed.objects.count() == 1
    services.add_part(case=first, actor=technician, name="Screws", quantity=4)  # the page as now shown
    assert PartUsed.objects.count() == 2
    with pytest.raises(TransitionConflict):  # read before the repair moved on
        services.repaired(case=case, actor=technician)


def test_R_WAR_3_a_payment_is_recorded_as_of_the_version_read(tv_order, technician, agent):
    case = services.accept_quote(case=excluded(tv_order, technician), customer=tv_order.customer)
    stale = Case.objects.get(pk=case.pk)
    services.add_part(case=case, actor=technician, name="Panel", unit_price="700.00")  # the case moved on
    with pytest.raises(TransitionConflict):
        services.record_payment(case=stale, actor=agent, reference="PAY-1")
    assert Claim.objects.get(case=case).amount_due_paid_at is None
    page = Case.objects.get(pk=case.pk)
    twice = Case.objects.get(pk=case.pk)
    services.record_payment(case=page, actor=agent, reference="PAY-1")
    with pytest.raises(TransitionConflict):  # the same form again: refused, nothing noted twice
        services.record_payment(case=twice, actor=agent, reference="PAY-1")
    assert Claim.objects.get(case=case).amount_due_paid_at is not None
    assert CaseEvent.objects.filter(case=case, note__startswith="Payment for the repair").count() == 1
    assert services.record_payment(case=page, actor=agent).version == page.version  # current and paid: a no-op


# --- Hand-overs carry the claim's photos on ---------------------------------------------------------------


def test_R_WAR_5_and_R_WAR_10_a_handed_over_claims_photos_follow_it_to_the_replacement(tv_order, technician, client):
    """The returns case opened by a hand-over shows the claim's photos and the technician's evidence:
    the same stored files (not copies), uploaded by whoever uploaded them, readable by the customer."""
    case = services.start_diagnosis(case=services.receive(case=file(tv_order), actor=technician), actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="irreparable", notes="Panel unavailable")
    granted = Claim.objects.get(case=case).handed_over_to
    [original] = case.attachments.all()
    [shared] = granted.attachments.all()
    assert shared.pk != original.pk and shared.file.name == original.file.name and shared.sha256 == original.sha256
    assert shared.uploaded_by == tv_order.customer and shared.original_name == original.original_name
    event = granted.events.get(type=CaseEvent.Type.ATTACHMENT)
    assert event.data == {"attachment_id": shared.pk, "from_case": case.number} and event.actor == technician
    client.force_login(tv_order.customer)
    download = client.get(reverse("portal:attachment-download", args=[shared.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == original.file.open("rb").read()

    another = tv_order_for(tv_order.customer)  # that line's one unit is already replaced (R-RET-13)
    received = timezone.now() - timedelta(days=31)
    case = services.receive(case=file(another, photos=[photo("a.jpg"), photo("b.jpg")]), actor=technician, now=received)
    sweep_due_deadlines()  # R-WAR-10: the free replacement is offered
    case.refresh_from_db()
    case = services.take_replacement(case=case, customer=tv_order.customer)
    granted = Claim.objects.get(case=case).handed_over_to
    assert sorted(granted.attachments.values_list("original_name", flat=True)) == ["a.jpg", "b.jpg"]


def test_R_WAR_9_the_photos_of_a_claim_granted_an_exchange_go_with_it(tv_order, technician):
    for _round in range(2):
        services.confirm_receipt(case=repaired_and_shipped(file(tv_order), technician), actor=tv_order.customer)
    case = file(tv_order, remedy="exchange", photos=[photo("third-time.jpg")])
    assert case.kind == "exchange" and list(case.attachments.values_list("original_name", flat=True)) == [
        "third-time.jpg"
    ]


# --- A replaced unit's repairs stay with it -------------------------------------------------------------


def test_R_WAR_9_after_an_exchange_the_new_unit_counts_its_own_repairs_and_keeps_the_extension(tv_order, technician):
    """三包: a replacement restarts the repair count (R-WAR-9: two repairs of the old unit do not make the
    new unit's first failure a replacement), while the days the customer spent without the product
    still extend the purchase's warranty (R-WAR-8), which the replacement continues."""
    from warranty import selectors

    line = tv_order.lines.get()
    for _round in range(2):
        case = services.receive(case=file(tv_order), actor=technician, now=timezone.now() - timedelta(days=5))
        case = services.start_diagnosis(case=case, actor=technician)
        case = services.diagnose(case=case, actor=technician, outcome="covered", notes="Backlight")
        case = services.ship_back(
            case=services.repaired(case=case, actor=technician), actor=technician, carrier="SF", tracking_number="1"
        )
        services.confirm_receipt(case=case, actor=tv_order.customer)
    assert selectors.claim_verdict(line, "display").remedy("exchange").rule == "R-WAR-9"
    exchange = file(tv_order, remedy="exchange")
    assert exchange.kind == "exchange"
    assert set(Claim.objects.values_list("replaced_by", flat=True)) == {exchange.pk}

    assert selectors.repairs_of_fault(line, "display") == 0
    verdict = selectors.claim_verdict(line, "display")
    assert [r.remedy for r in verdict.remedies] == ["repair"]  # day 20: the new unit's first failure
    assert selectors.line_coverage(line).extension_days == 10  # the two repairs' days still count
    for _round in range(2):  # the new unit's own repairs count again
        services.confirm_receipt(case=repaired_and_shipped(file(tv_order), technician), actor=tv_order.customer)
    assert selectors.repairs_of_fault(line, "display") == 2
    assert selectors.claim_verdict(line, "display").remedy("exchange").rule == "R-WAR-9"


def test_R_WAR_9_an_irreparable_units_replacement_starts_its_repair_count_again(tv_order, technician):
    from warranty import selectors

    line = tv_order.lines.get()
    services.confirm_receipt(case=repaired_and_shipped(file(tv_order), technician), actor=tv_order.customer)
    assert selectors.repairs_of_fault(line, "display") == 1
    case = services.start_diagnosis(case=services.receive(case=file(tv_order), actor=technician), actor=technician)
    case = services.diagnose(case=case, actor=technician, outcome="irreparable", notes="Panel unavailable")
    reissue = Claim.objects.get(case=case).handed_over_to
    assert reissue.kind == "reissue"
    assert Claim.objects.filter(replaced_by=reissue).count() == 2  # the repaired claim and this one
    assert selectors.repairs_of_fault(line, "display") == 0
    # A refund (no replacement unit) marks nothing.
    gone = tv_order_for(tv_order.customer)
    product = gone.lines.get().product
    product.active = False
    product.save(update_fields=["active"])
    case = services.start_diagnosis(case=services.receive(case=file(gone), actor=technician), actor=technician)
    services.diagnose(case=case, actor=technician, outcome="irreparable", notes="No parts")
    assert Claim.objects.get(case=case).replaced_by is None
