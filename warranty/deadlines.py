"""What the deadline sweeper does to warranty claims when their deadline passes.

Each handler gets the ids of the due cases, locked by the sweeper's transaction and with their
deadline already cleared; a handler that needs a later deadline sets it again."""

from django.utils.translation import gettext as _

from aftersales.cases.models import Case


def quote_lapsed(*, case_ids, now):
    """R-WAR-3: no answer to an exclusion (and its paid quote) in time: the unit comes back unrepaired."""
    from aftersales.cases import services as case_services

    for case in Case.objects.filter(id__in=case_ids, status="excluded").order_by("id"):
        case_services.transition(
            case=case, name="quote_lapsed", note=_("No answer in time: the unit comes back unrepaired.")
        )


def long_repair(*, case_ids, now):
    """R-WAR-10: the repair has taken too long: offer a free replacement."""
    from . import services

    for case in Case.objects.filter(id__in=case_ids).order_by("id"):
        services.offer_replacement(case=case, now=now)


def confirm_receipt(*, case_ids, now):
    """A repaired unit (or a sent accessory, R-WAR-6) counts as delivered once the configured days pass
    without the customer confirming or complaining; the claim closes."""
    from . import services
    from .workflow import SENT_TO_CUSTOMER

    for case in Case.objects.filter(id__in=case_ids, status__in=SENT_TO_CUSTOMER).order_by("id"):
        services.confirm_receipt(case=case, actor=None)
