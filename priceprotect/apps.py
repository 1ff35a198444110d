from django.utils.translation import gettext_lazy as _

from aftersales.cases import workflow


class PriceProtectConfig(workflow.FeatureAppConfig):
    name = "priceprotect"
    label = "priceprotect"
    verbose_name = _("Price protection")
