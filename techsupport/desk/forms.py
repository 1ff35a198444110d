"""Forms of the desk pages that Django renders: logging a contact, and the statistics period. (The
forms on a ticket's page are plain HTML posting to the desk's views.)"""

from datetime import timedelta

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.cases.models import Case

from ..models import Category, Channel, Priority
from ..services.tickets import BODY_MAX, SUBJECT_MAX

STATS_DEFAULT_DAYS = 30
STATS_MAX_DAYS = 366


class ContactForm(forms.Form):
    """R-SUP-1: an agent logs a phone call, an e-mail or a chat as a ticket for the customer."""

    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=get_user_model().objects.filter(is_active=True, is_staff=False),
        help_text=_("Search by e-mail, name or phone."),
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(value, label) for value, label in Channel.choices if value != Channel.PORTAL],
        initial=Channel.PHONE,
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    body = forms.CharField(
        label=_("What the customer asked"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    order = forms.CharField(
        label=_("Order number"), max_length=64, required=False, help_text=_("Optional: one of the customer's orders.")
    )

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # The admin's autocomplete (the user list's search), as for the customer of a case.
        customer = self.fields["customer"]
        customer.widget = AutocompleteSelect(Case._meta.get_field("customer"), admin_site)
        customer.widget.choices = customer.choices


class StatsPeriodForm(forms.Form):
    start = forms.DateField(
        label=pgettext_lazy("period", "From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=pgettext_lazy("period", "To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    @classmethod
    def default_period(cls) -> dict:
        today = timezone.localdate()
        return {"start": today - timedelta(STATS_DEFAULT_DAYS - 1), "end": today}

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days >= STATS_MAX_DAYS:
                raise forms.ValidationError(_("Choose a period of at most a year."))
        return data
