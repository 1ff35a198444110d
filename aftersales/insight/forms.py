"""The insight page's GET form: the period (both dates included) and what to narrow the figures to."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.cases.models import CaseKind
from aftersales.orders.models import Brand, Category, Product

from .selectors import Filters

DEFAULT_DAYS = 30
MAX_DAYS = 366


class InsightForm(forms.Form):
    # "period": plain "From"/"To" are a return label's sender and a refund's destination in Chinese.
    start = forms.DateField(
        label=pgettext_lazy("period", "From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=pgettext_lazy("period", "To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.order_by("name"), required=False, empty_label=_("All")
    )
    brand = forms.ModelChoiceField(
        label=_("Brand"), queryset=Brand.objects.order_by("name"), required=False, empty_label=_("All")
    )
    # A SKU rather than a list of every product: catalogues are long.
    product = forms.CharField(label=_("Product SKU"), max_length=64, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All")), *CaseKind.choices], required=False)

    @classmethod
    def default_initial(cls) -> dict:
        today = timezone.localdate()
        return {"start": today - timedelta(DEFAULT_DAYS - 1), "end": today}

    def clean_product(self):
        sku = self.cleaned_data["product"].strip()
        if not sku:
            return None
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise forms.ValidationError(_("No product has this SKU."))
        return product

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(_("Choose a period of at most a year."))
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            start=data["start"],
            end=data["end"] + timedelta(days=1),
            category=data.get("category"),
            brand=data.get("brand"),
            product=data.get("product"),
            kind=data.get("kind") or "",
        )
