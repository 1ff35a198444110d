from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PriceProtectConfig(AppConfig):
    name = "priceprotect"
    label = "priceprotect"
    verbose_name = _("Price protection")

    def ready(self):
        from aftersales.cases import workflow

        from .workflow import workflows

        for flow in workflows():
            workflow.register(flow)
