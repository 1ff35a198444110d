from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarrantyConfig(AppConfig):
    name = "warranty"
    label = "warranty"
    verbose_name = _("Warranty and repair")

    def ready(self):
        from aftersales.cases import workflow

        from .workflow import workflows

        for flow in workflows():
            workflow.register(flow)
