from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReturnsConfig(AppConfig):
    name = "returns"
    label = "returns"
    verbose_name = _("Returns and exchanges")

    def ready(self):
        from aftersales.cases import workflow

        from .workflow import workflows

        for flow in workflows():
            workflow.register(flow)
