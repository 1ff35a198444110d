"""What the orders core tells feature apps without importing them (Django signals, sent inside the
writing transaction; receivers defer slow work with `transaction.on_commit`).

- `price_changed(sender=PriceChange, entry=…)`: a new entry in a product's price history (R-ORD-3);
  price protection sweeps the orders a regular-price drop reaches.
- `order_cancelled(sender=Order, order=…)`: the order was cancelled or refused on delivery; price
  protection takes its compensation back (R-PP-6)."""

from django.dispatch import Signal

price_changed = Signal()
order_cancelled = Signal()
