"""Every write on the catalog and on orders, one module per group of actions:

- storefronts: registering a storefront and its token; its webhook signing secret;
- orders: the idempotent order ingest (R-ORD-3) and order milestones (R-ORD-2);
- catalog: product upserts and the price history (R-ORD-3).

Outgoing, signed webhooks to storefronts (queue, send, retry) are `aftersales.orders.webhooks`.

Callers hand in typed values (Decimal, aware datetime, int); the API's serializers parse JSON into
them. Everything a database CHECK constraint would refuse is refused here first with a
`ValidationFailed` carrying per-field messages (keys like "lines.2.sku", as the API reports them),
so bad input is a 400, never an IntegrityError.
"""

from .catalog import ProductResult, record_price_change, upsert_product
from .orders import UpsertResult, order_digest, set_milestones, upsert_order
from .storefronts import create_storefront, ensure_webhook_secret, rotate_webhook_secret, webhook_secret_hint

__all__ = [
    "ProductResult",
    "UpsertResult",
    "create_storefront",
    "ensure_webhook_secret",
    "order_digest",
    "record_price_change",
    "rotate_webhook_secret",
    "set_milestones",
    "upsert_order",
    "upsert_product",
    "webhook_secret_hint",
]
