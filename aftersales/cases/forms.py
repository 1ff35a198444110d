from django import forms
from django.utils.translation import gettext_lazy as _

from .models import FeedbackReason


class FeedbackForm(forms.Form):
    """R-FB-1. The service decides what is required (a reason up to a rating of 3); its field errors
    come back onto these fields."""

    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[(n, f"{'★' * n} {n}/5") for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    reason = forms.ChoiceField(
        label=_("What mattered most"),
        help_text=_("Required for a rating of 3 or less."),
        choices=FeedbackReason.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("Photo"), widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
    )


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class TransitionForm(forms.Form):
    name = forms.CharField(max_length=64, widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)


# --- Dashboard: follow-ups (R-FB-1) ----------------------------------------------------------


class FollowUpCallForm(forms.Form):
    outcome = forms.CharField(
        label=_("What came of the call"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    rating_confirmed = forms.TypedChoiceField(
        label=_("The customer's rating"),
        choices=[("", _("Not asked")), ("yes", _("Confirmed by the customer")), ("no", _("Not confirmed"))],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )


class CompleteFollowUpForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class AssignFollowUpForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=None, required=False, empty_label=_("Nobody"))

    def __init__(self, *args, **kwargs):
        from .followups import assignable_staff

        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_staff()
