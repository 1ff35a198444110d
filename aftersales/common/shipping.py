"""A parcel's carrier and tracking number as staff and customers type them, checked once for every app."""

from django.utils.translation import gettext as _

from .errors import ValidationFailed

FIELD_MAX = 64


def shipment(carrier: str, tracking_number: str) -> tuple[str, str]:
    """A carrier and a tracking number, both required, at most 64 characters each."""
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    errors = {}
    for field, value in (("carrier", carrier), ("tracking_number", tracking_number)):
        if not value:
            errors[field] = [_("This field is required.")]
        elif len(value) > FIELD_MAX:
            errors[field] = [_("At most 64 characters.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return carrier, tracking_number
