"""Portal forms for returns: the one-page application and the customer's tracking entry.

The application's line quantities and condition checklist depend on the order, so they are read by
`ApplyForm.lines_and_condition` from named inputs (`quantity-<line id>`, `condition`) rather than
declared fields; every rule is checked by `services.submit_request`, never here."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales.orders.models import Product

from . import policy
from .policy import Kind, Reason


def option_value(kind: str, reason: str) -> str:
    return f"{kind}:{reason}"


def open_pairs(verdicts) -> list[tuple[str, str]]:
    """(kind, reason) pairs open for at least one line, in the policy's order."""
    open_ = {(o.kind, o.reason) for _line, verdict in verdicts for o in verdict.options}
    return [(str(k), str(r)) for k, r in policy.REQUESTS if (str(k), str(r)) in open_]


class ApplyForm(forms.Form):
    option = forms.ChoiceField(label=_("What would you like?"), widget=forms.RadioSelect)
    description = forms.CharField(
        label=_("Describe the problem"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    exchange_sku = forms.CharField(
        label=_("SKU of the product you want instead"),
        required=False,
        max_length=64,
        strip=True,
        widget=forms.TextInput(attrs={"list": "exchange-variants", "autocomplete": "off"}),
    )
    report_valid_until = forms.DateField(label=_("Valid until"), required=False)

    def __init__(self, *args, pairs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = [(option_value(k, r), f"{Kind(k).label} · {Reason(r).label}") for k, r in pairs]

    @property
    def kind_reason(self) -> tuple[str, str]:
        kind, _sep, reason = self.cleaned_data["option"].partition(":")
        return kind, reason

    def clean_exchange_sku(self):
        sku = self.cleaned_data.get("exchange_sku", "")
        option = self.data.get("option", "")
        if not option.startswith(f"{Kind.EXCHANGE}:") or not sku:
            return None  # only an exchange names a product; the service says when one is missing
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise forms.ValidationError(gettext("No product has this SKU."))
        return product


def read_quantities(data, lines) -> tuple[list[dict], dict[int, str]]:
    """[{"line", "quantity"}] for lines with a quantity above 0, and {line id: error} for inputs
    that are not whole numbers."""
    chosen, errors = [], {}
    for line in lines:
        raw = (data.get(f"quantity-{line.pk}") or "").strip()
        if not raw:
            continue
        try:
            quantity = int(raw)
        except ValueError:
            errors[line.pk] = gettext("Enter a whole number.")
            continue
        if quantity < 0:
            errors[line.pk] = gettext("Enter a quantity of at least 1.")
        elif quantity > 0:
            chosen.append({"line": line, "quantity": quantity})
    return chosen, errors


def read_condition(data, questions: list[str]) -> dict[str, bool]:
    """R-RET-6 declarations: a ticked box says yes, an unticked one says no."""
    ticked = set(data.getlist("condition"))
    return {question: question in ticked for question in questions}


class TrackingForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=64)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)
