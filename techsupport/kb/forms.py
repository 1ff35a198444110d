"""The help centre's search form: what the query string may say (anything else is ignored, never an error page)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.orders.models import Product

from ..models import Article
from . import selectors


class HelpSearchForm(forms.Form):
    q = forms.CharField(label=_("Search the help centre"), max_length=selectors.QUERY_MAX, required=False, strip=True)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All kinds")), *Article.Kind.choices], required=False)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.all(), required=False, empty_label=_("All products")
    )

    def __init__(self, *args, products=None, **kwargs):
        super().__init__(*args, **kwargs)
        if products is not None:
            # The drop-down lists the products with help; any product id is still accepted.
            self.fields["product"].widget.choices = [("", _("All products")), *((p.pk, p.name) for p in products)]

    def value(self, name):
        """The cleaned value, or None when that field is not valid."""
        self.is_valid()
        return self.cleaned_data.get(name)


class VoteForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", _("Yes")), ("no", _("No"))], coerce=lambda value: value == "yes", empty_value=None
    )


class AnsweredForm(forms.Form):
    article = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
