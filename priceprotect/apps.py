from django.utils.translation import gettext_lazy as _

from aftersales.cases import workflow


class PriceProtectConfig(workflow.FeatureAppConfig):
    name = "priceprotect"
    label = "priceprotect"
    verbose_name = _("Price protection")

    def ready(self):
        super().ready()
        from aftersales.common import demo
        from aftersales.finance.models import Refund
        from aftersales.finance.services import PAID, REJECTED, on_refund
        from aftersales.orders import signals

        from . import services
        from .demo import seed

        demo.register(seed)
        on_refund(PAID, Refund.Source.PRICE_PROTECTION, services.refund_paid)
        on_refund(REJECTED, Refund.Source.PRICE_PROTECTION, services.refund_rejected)
        signals.price_changed.connect(services.on_price_changed, dispatch_uid="priceprotect.price_changed")
        signals.order_cancelled.connect(services.on_order_cancelled, dispatch_uid="priceprotect.order_cancelled")
