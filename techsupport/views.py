"""Customer portal for technical support (R-SUP-1, R-SUP-5): my tickets; asking a question, which first
suggests matching knowledge-base articles (and counts the questions they answer), then opens a ticket;
and the replies and reopening on a ticket's page (the case page includes `_case_actions.html`).

Orders, cases and tickets come from querysets filtered by the requesting customer, so another
customer's are a 404; what is allowed is `services.tickets`' decision."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aftersales.accounts.security import limit_customer
from aftersales.cases.selectors import cases_visible_to
from aftersales.common.errors import DomainError
from aftersales.orders.selectors import orders_visible_to

from . import selectors
from .forms import QuestionForm, ReplyForm, TicketForm
from .kb import selectors as kb_selectors
from .kb import services as kb_services
from .models import Deflection
from .services import tickets

PER_PAGE = 20


@login_required
@require_GET
def ticket_list(request):
    page = Paginator(selectors.tickets_of(request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "techsupport/ticket_list.html", {"page": page})


def _choices(user):
    orders = list(orders_visible_to(user).filter(customer=user).order_by("-placed_at")[:30])
    cases = list(cases_visible_to(user).filter(customer=user).exclude(kind="ticket").order_by("-opened_at")[:30])
    return {"orders": orders, "cases": cases, "products": selectors.products_bought(user)}


@login_required
@require_http_methods(["GET", "POST"])
def new_ticket(request):
    """GET ?question=…: the suggestions for the question (recorded, R-SUP-5), then the ticket form;
    GET without a question: step one. POST: open the ticket. `?order=` / `?case=` / `?product=`
    preselect what it is about (links from an order's or a case's page)."""
    choices = _choices(request.user)
    initial = {k: request.GET[k] for k in ("order", "product") if request.GET.get(k)}
    if request.GET.get("case"):
        initial["related_case"] = request.GET["case"]
    if request.method == "POST":
        form = TicketForm(request.POST, **choices)
        if form.is_valid():
            try:
                case = _open(request, form, choices)
            except DomainError as error:
                for field, errors in error.fields.items():
                    for message in errors:
                        form.add_error(field if field in form.fields else None, message)
                if not error.fields:
                    form.add_error(None, str(error.message))
            else:
                messages.success(request, _("Your question %(number)s was sent.") % {"number": case.number})
                return redirect("portal:case-detail", number=case.number)
        return _render_new(request, None, form, [], None, status=400)

    question = QuestionForm(request.GET or None, products=choices["products"])
    if not request.GET.get("question") or not question.is_valid():
        return _render_new(request, QuestionForm(initial=initial, products=choices["products"]), None, [], None)
    text, product_id = question.cleaned_data["question"], question.cleaned_data["product"]
    product = next((p for p in choices["products"] if p.pk == product_id), None)
    articles = list(kb_selectors.suggest(text, product=product))
    deflection = (
        kb_services.suggestions_shown(customer=request.user, query=text, articles=articles) if articles else None
    )
    form = TicketForm(
        initial={
            **initial,
            "subject": text,
            "product": product_id,
            "deflection": deflection.pk if deflection else None,
        },
        **choices,
    )
    return _render_new(request, None, form, articles, deflection)


def _open(request, form: TicketForm, choices):
    data = form.cleaned_data
    order = next((o for o in choices["orders"] if o.number == data["order"]), None)
    related = next((c for c in choices["cases"] if c.number == data["related_case"]), None)
    product = next((p for p in choices["products"] if p.pk == data["product"]), None)
    limit_customer(request)
    case = tickets.open_ticket(
        customer=request.user,
        actor=request.user,
        subject=data["subject"],
        body=data["body"],
        category=data["category"],
        priority=form.priority,
        order=order,
        product=product,
        related_case=related,
        photos=request.FILES.getlist("photos"),
    )
    if data.get("deflection"):
        deflection = Deflection.objects.filter(pk=data["deflection"], customer=request.user).first()
        if deflection is not None:
            kb_services.ticket_opened(deflection=deflection, customer=request.user, case=case)
    return case


def _render_new(request, question_form, ticket_form, articles, deflection, status=200):
    context = {
        # What the question is about (?order= / ?case=), carried through step one's GET form.
        "carry": {k: request.GET[k] for k in ("order", "case") if request.GET.get(k)},
        "question_form": question_form,
        "form": ticket_form,
        "articles": articles,
        "deflection": deflection,
        "max_photos": settings.ATTACHMENT_MAX_PER_CASE,
    }
    return render(request, "techsupport/new_ticket.html", context, status=status)


def _ticket_case(request, number):
    return get_object_or_404(cases_visible_to(request.user).filter(kind="ticket", customer=request.user), number=number)


@login_required
@require_POST
def reply(request, number):
    """The customer's message on their ticket: it resumes a paused clock or reopens a resolved ticket."""
    case = _ticket_case(request, number)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            tickets.customer_reply(
                case=case, customer=request.user, body=form.cleaned_data["body"], photos=request.FILES.getlist("photos")
            )
        except DomainError as error:
            messages.error(request, error.text)
        else:
            messages.success(request, _("Your message was sent."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("portal:case-detail", number=case.number)
