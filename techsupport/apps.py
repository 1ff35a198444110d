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
        from .kb.demo import seed as seed_kb

        demo.register(seed)  # teams, SLA policies, canned replies and tickets
        demo.register(seed_kb)  # the knowledge base and downloads (R-SUP-5), asked before a ticket
