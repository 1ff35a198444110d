from django.utils.translation import gettext_lazy as _

from aftersales.cases import workflow


class TechSupportConfig(workflow.FeatureAppConfig):
    name = "techsupport"
    label = "techsupport"
    verbose_name = _("Technical support")
