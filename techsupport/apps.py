from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TechSupportConfig(AppConfig):
    name = "techsupport"
    label = "techsupport"
    verbose_name = _("Technical support")

    def ready(self):
        from aftersales.cases import workflow

        from .workflow import workflows

        for flow in workflows():
            workflow.register(flow)
