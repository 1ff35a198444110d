"""Reads shared by the portal, the API and the dashboard. Customers only ever get their own rows:
every customer-facing queryset starts from `cases_visible_to(user)`."""

from django.db.models import QuerySet

from .models import Case, CaseEvent, Notification


def is_case_staff(user) -> bool:
    return user.is_authenticated and user.is_staff and user.has_perm("cases.view_case")


def cases_visible_to(user) -> QuerySet[Case]:
    qs = Case.objects.select_related("order", "customer")
    if not user.is_authenticated:
        return qs.none()
    if is_case_staff(user):
        return qs
    return qs.filter(customer=user)


def user_can_see_case(user, case: Case) -> bool:
    return is_case_staff(user) or (user.is_authenticated and case.customer_id == user.pk)


def case_timeline(user, case: Case) -> QuerySet[CaseEvent]:
    # case.events gives each event `case` as its case: no join for it.
    events = case.events.select_related("actor").order_by("at", "id")
    return events if is_case_staff(user) else events.filter(public=True)


def customer_timeline(customer) -> QuerySet[CaseEvent]:
    """One timeline across all the customer's cases (tickets, returns, repairs, claims), newest first:
    only what they are shown on each case's own page."""
    return (
        CaseEvent.objects.filter(case__customer=customer, public=True)
        .select_related("actor", "case")
        .order_by("-at", "-id")
    )


def case_detail_queryset(user, *, refunds: bool = False) -> QuerySet[Case]:
    """One case with its photos, and its refunds for the portal's page. Its events are `case_timeline`'s
    (customers see only the public ones)."""
    qs = cases_visible_to(user).prefetch_related("attachments")
    return qs.prefetch_related("refunds") if refunds else qs


def unread_notifications(user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user, read_at__isnull=True).select_related("case")


def available_transitions(user, case: Case) -> list:
    """The transitions `user` may ask for on `case` now (for buttons and the API)."""
    from aftersales.common.errors import NotAllowed

    from . import services, workflow

    result = []
    flow = workflow.get(case.kind)
    for t in flow.transitions.values():
        if case.status not in t.sources or not workflow.generic_move_allowed(flow, t):
            continue
        try:
            services.check_allowed(case=case, transition=t, actor=user)
        except NotAllowed:
            continue
        result.append(t)
    return result
