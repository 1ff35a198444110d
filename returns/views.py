"""Customer portal for returns: the order's after-sales options (policy transparency, R-RET-15), the
one-page application, the printable return label and the parcel's tracking entry."""

import re

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftersales.accounts.security import limit_customer
from aftersales.cases.selectors import cases_visible_to
from aftersales.common.errors import DomainError
from aftersales.orders.selectors import orders_visible_to

from . import labels, policy, selectors, services
from .forms import ApplyForm, TrackingForm, open_pairs, option_value, read_condition, read_quantities
from .models import ReturnRequest
from .policy import Kind, Reason

LINE_FIELD = re.compile(r"^lines\.(\d+)\.")
# The service's field names that the application form calls otherwise.
SERVICE_FIELDS = {"kind": "option", "reason": "option"}


@login_required
@require_GET
def order_options(request, number):
    order = get_object_or_404(orders_visible_to(request.user), number=number)
    verdicts = selectors.order_verdicts(order)
    can_apply = order.customer_id == request.user.pk and bool(open_pairs(verdicts))
    return render(request, "returns/order_options.html", {"order": order, "lines": verdicts, "can_apply": can_apply})


def _apply_rows(verdicts):
    """Lines that have at least one open option, with what the page needs to show them."""
    rows = []
    for line, verdict in verdicts:
        if not verdict.options or verdict.returnable_quantity <= 0:
            continue
        questions = []
        if verdict.option(Kind.RETURN, Reason.NO_REASON):
            facts = selectors.line_facts(line, requested=line.quantity - verdict.returnable_quantity)
            questions = policy.condition_questions(facts)
        rows.append(
            {
                "line": line,
                "verdict": verdict,
                "options": " ".join(option_value(o.kind, o.reason) for o in verdict.options),
                "questions": questions,
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def apply(request, number):
    """One page: kind and reason, lines and quantities, condition checklist, description,
    exchange SKU and photos; every rule is the service's (a refusal re-renders with its message)."""
    # Only the order's own customer applies (staff do not apply on a customer's behalf here).
    order = get_object_or_404(orders_visible_to(request.user).filter(customer=request.user), number=number)
    verdicts = selectors.order_verdicts(order)
    pairs = open_pairs(verdicts)
    rows = _apply_rows(verdicts)
    questions = list(dict.fromkeys(q for row in rows for q in row["questions"]))
    line_errors: dict[int, list[str]] = {}
    input_errors: dict[str, list[str]] = {}  # inputs ApplyForm does not declare: photos, report, lines
    error_message, error_rule = "", ""
    status = 200

    if request.method == "POST" and pairs:
        form = ApplyForm(request.POST, pairs=pairs)
        chosen, parse_errors = read_quantities(request.POST, [row["line"] for row in rows])
        for pk, message in parse_errors.items():
            line_errors.setdefault(pk, []).append(message)
        if form.is_valid() and not parse_errors:
            kind, reason = form.kind_reason
            condition = (
                read_condition(request.POST, questions) if (kind, reason) == (Kind.RETURN, Reason.NO_REASON) else None
            )
            with_report = report_options_chosen(rows, kind, reason)
            try:
                limit_customer(request)
                case = services.submit_request(
                    customer=request.user,
                    order=order,
                    kind=kind,
                    reason=reason,
                    lines=chosen,
                    condition=condition,
                    description=form.cleaned_data["description"],
                    exchange_product=form.cleaned_data["exchange_sku"],
                    photos=request.FILES.getlist("photos"),
                    report=request.FILES.get("report") if with_report else None,
                    report_valid_until=form.cleaned_data["report_valid_until"] if with_report else None,
                )
            except DomainError as error:
                error_message, error_rule = str(error.message), getattr(error, "rule", "")
                for key, messages_ in error.fields.items():
                    match = LINE_FIELD.match(key)
                    if match and int(match.group(1)) < len(chosen):
                        line_errors.setdefault(chosen[int(match.group(1))]["line"].pk, []).extend(map(str, messages_))
                        continue
                    field = SERVICE_FIELDS.get(key.split(".", 1)[0], key.split(".", 1)[0])
                    if field in form.fields:  # next to the field, in the form's own markup
                        form.add_error(field, [str(m) for m in messages_])
                    else:
                        input_errors.setdefault(field, []).extend(map(str, messages_))
            else:
                messages.success(request, _("Your request %(number)s was submitted.") % {"number": case.number})
                return redirect("portal:case-detail", number=case.number)
        else:
            error_message = _("Please correct the errors below.")
        status = 400
    else:
        form = ApplyForm(pairs=pairs, initial={"option": request.GET.get("option", "")})

    quantities = {row["line"].pk: request.POST.get(f"quantity-{row['line'].pk}", "") for row in rows}
    for row in rows:
        row["value"] = quantities[row["line"].pk]
        row["errors"] = line_errors.get(row["line"].pk, [])
        row["input_id"] = f"quantity-{row['line'].pk}"  # its name too
    ticked = set(request.POST.getlist("condition"))
    context = {
        "order": order,
        "form": form,
        "rows": rows,
        "can_apply": bool(pairs),
        "questions": [{"value": q, "label": policy.Condition(q).label, "checked": q in ticked} for q in questions],
        "no_reason_return": option_value(Kind.RETURN, Reason.NO_REASON),
        "exchange_prefix": f"{Kind.EXCHANGE}:",
        "error_message": error_message,
        "error_rule": error_rule,
        "input_errors": input_errors,
        "more_problems": _apply_problems(rows, input_errors),
        "max_photos": settings.ATTACHMENT_MAX_PER_CASE,
        "variants": selectors.exchange_variants([row["line"] for row in rows if _exchange_open(row["verdict"])]),
        "report_options": " ".join(
            sorted(
                {option_value(o.kind, o.reason) for row in rows for o in row["verdict"].options if o.report_required}
            )
        ),
        "report_valid_until": request.POST.get("report_valid_until", ""),
    }
    return render(request, "returns/apply.html", context, status=status)


def _apply_problems(rows, input_errors) -> list[dict]:
    """The application's errors on inputs beyond ApplyForm, for the error summary's links: each line's
    quantity, the lines as a whole, the photos and the inspection report."""
    problems = [
        {
            "id": row["input_id"],
            "label": _("Quantity of %(name)s") % {"name": row["line"].product_name},
            "message": message,
        }
        for row in rows
        for message in row["errors"]
    ]
    first_line = f"quantity-{rows[0]['line'].pk}" if rows else ""
    inputs = {"lines": (first_line, _("Items and quantities")), "photos": ("id_photos", _("Photos"))}
    inputs["report"] = ("id_report", _("Photo of the report"))
    for name, messages_ in input_errors.items():
        input_id, label = inputs.get(name, ("", ""))
        problems += [{"id": input_id, "label": label, "message": message} for message in messages_]
    return problems


def _exchange_open(verdict) -> bool:
    return any(o.kind == Kind.EXCHANGE for o in verdict.options)


def report_options_chosen(rows, kind: str, reason: str) -> bool:
    """R-RET-8: the chosen option asks for an inspection report on some line (the form sends the
    report fields whatever the choice; they count only then)."""
    return any(
        o.report_required for row in rows for o in row["verdict"].options if (o.kind, o.reason) == (kind, reason)
    )


def _return_case(request, number):
    case = get_object_or_404(cases_visible_to(request.user), number=number)
    request_row = ReturnRequest.objects.filter(case_id=case.pk).first()
    if request_row is None:
        raise Http404
    return case, request_row


def _labelled_case(request, number):
    case, request_row = _return_case(request, number)
    if not labels.label_available(case):
        raise Http404
    return case, request_row


@login_required
@require_GET
def label(request, number):
    """A printable return label: the RMA number as a QR code and in large text, the return address,
    the items and the customer. Only for goods travelling back, once approved."""
    case, request_row = _labelled_case(request, number)
    qr = segno.make(case.number, micro=False, error="m")
    lines = selectors.label_lines(request_row)
    return render(
        request,
        "returns/label.html",
        {
            "case": case,
            "return_request": request_row,
            "lines": lines,
            # segno writes the SVG itself from the case number; nothing user-typed goes in raw.
            "qr_svg": mark_safe(qr.svg_inline(scale=5, title=case.number)),  # noqa: S308
            "return_address": settings.SHOP_RETURN_ADDRESS,
        },
    )


@login_required
@require_GET
def label_pdf(request, number):
    """The same return label as an A6 PDF, shown inline (the browser offers to print or save it)."""
    case, request_row = _labelled_case(request, number)
    pdf = labels.render_label_pdf(case=case, return_request=request_row, lines=selectors.label_lines(request_row))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(as_attachment=False, filename=f"{case.number}.pdf")
    return response


@login_required
@require_POST
def tracking(request, number):
    """R-RET-9: the customer enters the parcel's carrier and tracking number."""
    case, _request_row = _return_case(request, number)
    form = TrackingForm(request.POST)
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
