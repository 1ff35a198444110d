from django.utils.translation import gettext_lazy as _

from aftersales.cases import workflow


class ReturnsConfig(workflow.FeatureAppConfig):
    name = "returns"
    label = "returns"
    verbose_name = _("Returns and exchanges")

    def ready(self):
        super().ready()
        from aftersales.common import demo

        from .demo import seed

        demo.register(seed)
