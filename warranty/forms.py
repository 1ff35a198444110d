"""Portal forms for warranty: a unit's serial number and the one-page claim.

They only parse: whether a serial is valid, a remedy open or a document missing is decided by
`services.register_unit` and `services.file_claim`, whose refusals the views show next to the fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.orders.guarantees import Remedy

from .policy import ACCESSORY, ACCESSORY_LABEL, Document, Fault, ServiceMode


class SerialForm(forms.Form):
    serial_number = forms.CharField(label=_("Register a serial number"), required=False)


class TrackingForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=64)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)


class ClaimForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Which unit?"), queryset=None, required=False)
    fault = forms.ChoiceField(
        label=_("What is wrong?"), choices=Fault.choices, required=False, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=_("Describe the fault"),
        help_text=_("What happens, since when, and what you have tried."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 4000}),
    )
    # The remedies open today are listed by the view (with their closing dates and rules); any remedy
    # parses here and the service says whether it is open. An accessory instead of a repair (R-WAR-6)
    # names one of the product's accessories, priced by the service.
    remedy = forms.ChoiceField(
        label=_("What would you like?"), choices=[*Remedy.choices, (ACCESSORY, ACCESSORY_LABEL)], required=False
    )
    accessory = forms.ModelChoiceField(label=_("Which accessory?"), queryset=None, required=False)
    mode = forms.ChoiceField(
        label=_("How should the unit be repaired?"),
        choices=ServiceMode.choices,
        initial=ServiceMode.SHIP_IN,
        required=False,
        widget=forms.RadioSelect,
    )
    documents = forms.MultipleChoiceField(
        label=_("What you can send with the unit"),
        choices=Document.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, line, accessories=None, **kwargs):
        super().__init__(*args, **kwargs)
        if accessories is None:
            del self.fields["accessory"]
        else:
            self.fields["accessory"].queryset = accessories
        units = list(line.units.all())
        if not units:
            del self.fields["unit"]
            return
        field = self.fields["unit"]
        field.queryset = line.units.all()
        if len(units) >= line.quantity:  # every unit has its serial: name one
            field.required = True
            field.empty_label = None if len(units) == 1 else _("Choose the unit")
        else:
            field.empty_label = _("A unit without a registered serial number")
