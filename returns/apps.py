from django.utils.translation import gettext_lazy as _

from aftersales.cases import workflow


class ReturnsConfig(workflow.FeatureAppConfig):
    name = "returns"
    label = "returns"
    verbose_name = _("Returns and exchanges")

    def ready(self):
        super().ready()
        from aftersales.common import demo
        from aftersales.finance.models import Refund
        from aftersales.finance.services import PAID, REJECTED, on_refund

        from . import services
        from .demo import seed

        demo.register(seed)
        for source in (Refund.Source.RETURN, Refund.Source.REFUND_ONLY, Refund.Source.EXCHANGE_DIFFERENCE):
            on_refund(PAID, source, services.refund_paid)
            on_refund(REJECTED, source, services.refund_rejected)
