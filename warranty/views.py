"""Customer portal for warranty: my products and their coverage (R-WAR-1, R-WAR-8) with serial
registration, the one-page claim (R-WAR-2, R-WAR-4, R-WAR-6, R-WAR-9) and the customer's steps on a
claim's case page (tracking, the paid quote, the appeal, the free replacement, receipt).

Lines come from `selectors.coverable_lines(request.user)` and cases from the customer's own, so a
foreign id is a 404; every decision is the services'."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftersales.accounts.security import limit_customer
from aftersales.cases.selectors import cases_visible_to
from aftersales.common.errors import DomainError
from aftersales.orders.guarantees import Remedy

from . import policy, selectors, services
from .forms import ClaimForm, SerialForm, TrackingForm
from .models import Unit, WarrantySettings
from .policy import ACCESSORY, ACCESSORY_LABEL, Document, Fault

LINES_PER_PAGE = 20
REMEDY_ORDER = list(Remedy.values)


def _error_text(error: DomainError) -> str:
    rule = getattr(error, "rule", "")
    return f"{error.text} ({rule})" if rule else error.text


# --- My products & warranty ------------------------------------------------------------------------------


@login_required
@require_GET
def products(request):
    return _products_page(request, request.GET.get("page"))


def _products_page(request, page_number, *, line_errors=None, line_values=None, error_message="", status=200):
    page = Paginator(selectors.coverable_lines(request.user), LINES_PER_PAGE).get_page(page_number)
    warranty_settings = WarrantySettings.current()
    now = timezone.now()
    lines = list(page.object_list)
    accessories = selectors.accessories_by_category(line.product.category_id for line in lines)
    rows = []
    for covers in selectors.line_coverages(lines, settings=warranty_settings.knobs(), now=now):
        line, coverage = covers.line, covers.coverage
        covered = coverage.covers(now) or any(u.coverage.covers(now) for u in covers.units)
        if not covered:
            state = "expired"
        elif policy.expiry_reminder_due(coverage.ends_at, now, warranty_settings.expiry_reminder_days):
            state = "expiring"
        else:
            state = "covered"
        rows.append(
            {
                "line": line,
                "coverage": coverage,
                "months": selectors.warranty_months(line),
                "units": [
                    {"unit": u.unit, "coverage": u.coverage, "own_end": u.coverage.ends_at != coverage.ends_at}
                    for u in covers.units
                ],
                "state": state,
                "covered": covered,
                "can_register": len(covers.units) < line.quantity,
                "accessories": bool(accessories.get(line.product.category_id)),
                "errors": (line_errors or {}).get(line.pk, []),
                "value": (line_values or {}).get(line.pk, ""),
            }
        )
    serial_form = SerialForm()
    context = {
        "page": page,
        "rows": rows,
        "error_message": error_message,
        # The error summary's links to the serial number inputs that were refused.
        "more_problems": [
            {"id": f"serial-{row['line'].pk}", "label": serial_form["serial_number"].label, "message": message}
            for row in rows
            for message in row["errors"]
        ],
        "serial_form": serial_form,
    }
    return render(request, "warranty/products.html", context, status=status)


@login_required
@require_POST
def register_serial(request, line_id):
    """R-WAR-1: the customer records a unit's serial number. The answer is the same whether or not the
    serial is known on someone else's order (the service keeps serials per line)."""
    line = get_object_or_404(selectors.coverable_lines(request.user), pk=line_id)
    form = SerialForm(request.POST)
    form.is_valid()  # a free text field: nothing to refuse here
    page = request.POST.get("page", "")
    page = page if page.isdigit() else "1"
    try:
        unit = services.register_unit(
            line=line,
            serial_number=form.cleaned_data.get("serial_number", ""),
            source=Unit.Source.CUSTOMER,
            customer=request.user,
        )
    except DomainError as error:
        errors = [str(m) for msgs in error.fields.values() for m in msgs] or [str(error.message)]
        return _products_page(
            request,
            page,
            line_errors={line.pk: errors},
            line_values={line.pk: request.POST.get("serial_number", "")[:64]},
            error_message=_("The serial number of %(product)s was not registered; see below.")
            % {"product": line.product_name},
            status=400,
        )
    messages.success(
        request,
        _("Serial number %(serial)s is registered for %(product)s.")
        % {"serial": unit.serial_number, "product": line.product_name},
    )
    return redirect(f"{reverse('warranty:products')}?page={page}#line-{line.pk}")


# --- The claim ----------------------------------------------------------------------------------------------


def _offered_remedies(verdicts: dict[str, policy.ClaimVerdict], fault: str) -> list[dict]:
    """The remedies open today for at least one fault, each with the faults it is open for (only
    repeated repairs of one fault open more, R-WAR-9): the page shows those open for the chosen
    fault, or all while none is chosen; the service judges the choice on submit."""
    faults_by_option: dict[policy.RemedyOption, set[str]] = {}
    for fault_value, verdict in verdicts.items():
        for option in verdict.remedies:
            faults_by_option.setdefault(option, set()).add(fault_value)
    rows = []
    for option in sorted(faults_by_option, key=lambda o: (REMEDY_ORDER.index(o.remedy), o.open_until)):
        faults = faults_by_option[option]
        rows.append(
            {
                "option": option,
                "label": Remedy(option.remedy).label,
                "faults": "*" if len(faults) == len(Fault.values) else " ".join(sorted(faults)),
                "hidden": bool(fault) and fault not in faults,
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def claim(request, line_id):
    """One page: the unit, fault, description and photos, the remedies open today (each with its
    closing date and rule) or an accessory instead of a repair at today's price (R-WAR-6, also after
    the warranty, when parts are sold), the service mode and the documents checklist (R-WAR-4). A
    refusal re-renders with its message and rule at the top and field errors next to the fields."""
    line = get_object_or_404(selectors.coverable_lines(request.user), pk=line_id)
    units = {str(unit.pk): unit for unit in line.units.all()}
    source = request.POST if request.method == "POST" else request.GET
    unit = units.get(source.get("unit", ""))
    if unit is None and len(units) == 1 and line.quantity == 1:  # the line's one unit, named or not
        unit = next(iter(units.values()))
    fault = source.get("fault", "")
    fault = fault if fault in Fault.values else ""
    verdicts = selectors.claim_verdicts(line, unit)
    offered = _offered_remedies(verdicts, fault)
    shown = verdicts[fault] if fault else next(iter(verdicts.values()))
    accessories = selectors.line_accessories(line)
    offers = selectors.accessory_offers(accessories, shown.coverage)
    input_errors: dict[str, list[str]] = {}  # inputs ClaimForm does not declare: the photos
    error_message, error_rule = "", ""
    status = 200

    form_kwargs = {"line": line, "accessories": accessories if offers else None}
    if request.method == "POST" and (offered or offers):
        form = ClaimForm(request.POST, **form_kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                limit_customer(request)
                case = services.file_claim(
                    customer=request.user,
                    line=line,
                    fault=data["fault"],
                    description=data["description"],
                    remedy=data["remedy"],
                    documents=data["documents"],
                    mode=data["mode"],
                    unit=data.get("unit"),
                    accessory=data.get("accessory") if data["remedy"] == ACCESSORY else None,
                    photos=request.FILES.getlist("photos"),
                )
            except DomainError as error:
                error_message, error_rule = str(error.message), getattr(error, "rule", "")
                for key, errors in error.fields.items():
                    field = key.split(".", 1)[0]
                    if field in form.fields:  # next to the field, in the form's own markup
                        form.add_error(field, [str(m) for m in errors])
                    else:
                        input_errors.setdefault(field, []).extend(map(str, errors))
            else:
                messages.success(request, _("Your claim %(number)s was filed.") % {"number": case.number})
                return redirect("portal:case-detail", number=case.number)
        else:
            error_message = _("Please correct the errors below.")
        status = 400
    else:
        initial = {"fault": fault}
        if unit is not None:
            initial["unit"] = unit.pk
        form = ClaimForm(initial=initial, **form_kwargs)

    chosen_remedy = request.POST.get("remedy", "") if request.method == "POST" else ""
    for row in offered:
        row["checked"] = row["option"].remedy == chosen_remedy and not row["hidden"]
    blocking = selectors.knobs().blocking_documents
    context = {
        "line": line,
        "form": form,
        "coverage": shown.coverage,
        "refusal": shown.refusal,
        "can_claim": bool(offered or offers),
        "offered": offered,
        "accessory_offers": offers,
        "accessory_remedy": ACCESSORY,
        "accessory_label": ACCESSORY_LABEL,
        "accessory_checked": chosen_remedy == ACCESSORY,
        "chosen_accessory": request.POST.get("accessory", "") if request.method == "POST" else "",
        "blocking_documents": [label for value, label in Document.choices if value in blocking],
        "error_message": error_message,
        "error_rule": error_rule,
        "input_errors": input_errors,
        "more_problems": _claim_problems(input_errors),
        "max_photos": settings.ATTACHMENT_MAX_PER_CASE,
        "repair": Remedy.REPAIR,
    }
    return render(request, "warranty/claim.html", context, status=status)


def _claim_problems(input_errors: dict[str, list[str]]) -> list[dict]:
    """The claim's errors on inputs beyond ClaimForm, for the error summary: the photos (linked to their
    input), and anything else the service names."""
    problems = []
    for name, messages_ in input_errors.items():
        where = {"id": "id_photos", "label": _("Photos")} if name == "photos" else {}
        problems += [{**where, "message": message} for message in messages_]
    return problems


# --- The customer's steps on a claim ------------------------------------------------------------------------


def _own_claim_case(request, number):
    """The customer's own warranty case with a claim; anything else (another customer's, staff) is a 404."""
    return get_object_or_404(
        cases_visible_to(request.user).filter(customer=request.user, warranty_claim__isnull=False), number=number
    )


def _step(request, number, take, done: str):
    """Take one step as of the case version the page showed (a case that moved since is refused
    rather than acted on), then back to the case page with a message."""
    case = _own_claim_case(request, number)
    version = request.POST.get("version", "")
    case.version = int(version) if version.isdigit() else 0
    try:
        case = take(case)
    except DomainError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, done)
    return redirect("portal:case-detail", number=case.number)


@login_required
@require_POST
def tracking(request, number):
    """R-WAR-5: the customer sent the unit (entering it again corrects it)."""
    case = _own_claim_case(request, number)
    form = TrackingForm(request.POST)
    form.is_valid()
    try:
        services.enter_tracking(
            case=case,
            customer=request.user,
            carrier=request.POST.get("carrier", ""),
            tracking_number=request.POST.get("tracking_number", ""),
        )
    except DomainError as error:
        details = [
            f"{form.fields[f].label if f in form.fields else f}: {'; '.join(map(str, msgs))}"
            for f, msgs in error.fields.items()
        ]
        messages.error(request, " ".join([str(error.message), *details]))
    else:
        messages.success(request, _("Thank you: the tracking number was saved."))
    return redirect("portal:case-detail", number=case.number)


@login_required
@require_POST
def accept_quote(request, number):
    return _step(
        request,
        number,
        lambda case: services.accept_quote(case=case, customer=request.user),
        _("You accepted the paid repair. Please pay the amount due; the unit ships back once it is paid."),
    )


@login_required
@require_POST
def decline_quote(request, number):
    return _step(
        request,
        number,
        lambda case: services.decline_quote(case=case, customer=request.user),
        _("Your unit will be sent back unrepaired."),
    )


@login_required
@require_POST
def appeal(request, number):
    """R-WAR-3: once per claim."""
    return _step(
        request,
        number,
        lambda case: services.appeal(case=case, customer=request.user, text=request.POST.get("text", "")),
        _("Your appeal was sent; a supervisor will review the decision."),
    )


@login_required
@require_POST
def take_replacement(request, number):
    """R-WAR-10: the free replacement offered for a long repair."""
    return _step(
        request,
        number,
        lambda case: services.take_replacement(case=case, customer=request.user),
        _("You took the free replacement; its case is linked on this page."),
    )


@login_required
@require_POST
def confirm_receipt(request, number):
    return _step(
        request,
        number,
        lambda case: services.confirm_receipt(case=case, actor=request.user),
        _("Thank you for confirming that your unit arrived."),
    )
