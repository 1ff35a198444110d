from django.utils.translation import gettext_lazy as _

from aftersales.cases import workflow


class WarrantyConfig(workflow.FeatureAppConfig):
    name = "warranty"
    label = "warranty"
    verbose_name = _("Warranty and repair")

    def ready(self):
        super().ready()
        from aftersales.common import demo

        from .demo import seed

        demo.register(seed)
