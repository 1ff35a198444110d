"""Portal forms of technical support. They only parse: `services.tickets` decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Category, Priority
from .services.tickets import BODY_MAX, SUBJECT_MAX


class QuestionForm(forms.Form):
    """Step one: what the customer needs help with, so matching articles can be suggested first."""

    question = forms.CharField(
        label=_("What do you need help with?"),
        max_length=SUBJECT_MAX,
        help_text=_("A few words, e.g. “earbuds will not pair”."),
    )
    product = forms.TypedChoiceField(label=_("Product"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", _("Not about one product"))] + [(p.pk, p.name) for p in products]


class TicketForm(forms.Form):
    """Step two: the ticket itself."""

    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    category = forms.ChoiceField(label=_("What is it about?"), choices=Category.choices, widget=forms.RadioSelect)
    body = forms.CharField(
        label=_("Describe your question or the problem"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    urgent = forms.BooleanField(label=_("It is urgent (the product cannot be used)"), required=False)
    order = forms.ChoiceField(label=_("Order"), required=False)
    related_case = forms.ChoiceField(label=_("About one of your cases"), required=False)
    product = forms.TypedChoiceField(label=_("Product"), required=False, coerce=int, empty_value=None)
    deflection = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, orders=(), cases=(), products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].choices = [("", _("Not about one order"))] + [(o.number, o.number) for o in orders]
        self.fields["related_case"].choices = [("", _("No"))] + [
            (c.number, f"{c.number} · {c.get_kind_display()}") for c in cases
        ]
        self.fields["product"].choices = [("", _("Not about one product"))] + [(p.pk, p.name) for p in products]

    @property
    def priority(self) -> str:
        return Priority.HIGH if self.cleaned_data.get("urgent") else Priority.NORMAL


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your message"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 4}))
