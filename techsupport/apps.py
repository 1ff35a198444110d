from django.utils.translation import gettext_lazy as _

from aftersales.cases import workflow


class TechSupportConfig(workflow.FeatureAppConfig):
    name = "techsupport"
    label = "techsupport"
    verbose_name = _("Technical support")

    def ready(self):
        super().ready()
        from aftersales.common import demo

        from .demo import seed

        demo.register(seed)
