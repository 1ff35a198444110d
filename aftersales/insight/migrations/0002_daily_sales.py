"""Units sold per product and day for the insight page (DailySales, filled hourly), and the triggers that
note in insight_orderchange every later write that can change a day's units: an order line inserted,
deleted, or moved to another order, product or quantity; an order placed at another time, cancelled or
uncancelled, or deleted. They log the order's placed_at (both, if it moved), nothing else; the hourly
task (aftersales.insight.rollup) counts the changed days again and clears what it read.

Later migrations: on SQLite, a table rebuild of orders_order or orders_orderline drops these triggers;
re-create them after such a change. tests/insight/test_daily_sales.py fails if they go missing."""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL_INSTALL = [
    """
    CREATE FUNCTION insight_order_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'orders_orderline' THEN
            INSERT INTO insight_orderchange (placed_at)
            SELECT placed_at FROM orders_order
             WHERE id IN (CASE WHEN TG_OP <> 'DELETE' THEN NEW.order_id END,
                          CASE WHEN TG_OP <> 'INSERT' THEN OLD.order_id END);
        ELSE
            INSERT INTO insight_orderchange (placed_at) VALUES (OLD.placed_at);
            IF TG_OP = 'UPDATE' AND NEW.placed_at <> OLD.placed_at THEN
                INSERT INTO insight_orderchange (placed_at) VALUES (NEW.placed_at);
            END IF;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER insight_line_written AFTER INSERT OR DELETE ON orders_orderline
    FOR EACH ROW EXECUTE FUNCTION insight_order_changed()
    """,
    """
    CREATE TRIGGER insight_line_changed AFTER UPDATE OF order_id, product_id, quantity ON orders_orderline
    FOR EACH ROW WHEN (NEW.order_id <> OLD.order_id OR NEW.product_id <> OLD.product_id
                       OR NEW.quantity <> OLD.quantity)
    EXECUTE FUNCTION insight_order_changed()
    """,
    """
    CREATE TRIGGER insight_order_changed AFTER UPDATE OF placed_at, cancelled_at ON orders_order
    FOR EACH ROW WHEN (NEW.placed_at <> OLD.placed_at OR NEW.cancelled_at IS DISTINCT FROM OLD.cancelled_at)
    EXECUTE FUNCTION insight_order_changed()
    """,
    """
    CREATE TRIGGER insight_order_deleted AFTER DELETE ON orders_order
    FOR EACH ROW EXECUTE FUNCTION insight_order_changed()
    """,
]

POSTGRESQL_REMOVE = [
    "DROP TRIGGER IF EXISTS insight_order_deleted ON orders_order",
    "DROP TRIGGER IF EXISTS insight_order_changed ON orders_order",
    "DROP TRIGGER IF EXISTS insight_line_changed ON orders_orderline",
    "DROP TRIGGER IF EXISTS insight_line_written ON orders_orderline",
    "DROP FUNCTION IF EXISTS insight_order_changed()",
]

SQLITE_INSTALL = [
    """
    CREATE TRIGGER insight_line_inserted AFTER INSERT ON orders_orderline
    BEGIN
        INSERT INTO insight_orderchange (placed_at) SELECT placed_at FROM orders_order WHERE id = NEW.order_id;
    END
    """,
    """
    CREATE TRIGGER insight_line_deleted AFTER DELETE ON orders_orderline
    BEGIN
        INSERT INTO insight_orderchange (placed_at) SELECT placed_at FROM orders_order WHERE id = OLD.order_id;
    END
    """,
    """
    CREATE TRIGGER insight_line_changed AFTER UPDATE OF order_id, product_id, quantity ON orders_orderline
    WHEN NEW.order_id IS NOT OLD.order_id OR NEW.product_id IS NOT OLD.product_id OR NEW.quantity IS NOT OLD.quantity
    BEGIN
        INSERT INTO insight_orderchange (placed_at)
        SELECT placed_at FROM orders_order WHERE id IN (NEW.order_id, OLD.order_id);
    END
    """,
    """
    CREATE TRIGGER insight_order_changed AFTER UPDATE OF placed_at, cancelled_at ON orders_order
    WHEN NEW.placed_at IS NOT OLD.placed_at OR NEW.cancelled_at IS NOT OLD.cancelled_at
    BEGIN
        INSERT INTO insight_orderchange (placed_at) SELECT OLD.placed_at;
        INSERT INTO insight_orderchange (placed_at) SELECT NEW.placed_at WHERE NEW.placed_at IS NOT OLD.placed_at;
    END
    """,
    """
    CREATE TRIGGER insight_order_deleted AFTER DELETE ON orders_order
    BEGIN
        INSERT INTO insight_orderchange (placed_at) VALUES (OLD.placed_at);
    END
    """,
]

SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS insight_order_deleted",
    "DROP TRIGGER IF EXISTS insight_order_changed",
    "DROP TRIGGER IF EXISTS insight_line_changed",
    "DROP TRIGGER IF EXISTS insight_line_deleted",
    "DROP TRIGGER IF EXISTS insight_line_inserted",
]

STATEMENTS = {
    "postgresql": (POSTGRESQL_INSTALL, POSTGRESQL_REMOVE),
    "sqlite": (SQLITE_INSTALL, SQLITE_REMOVE),
}


def _run(schema_editor, which: int):
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        # Without the triggers the page would count changed days wrongly: better to stop.
        raise NotImplementedError(f"No insight order-change triggers for the {vendor} database.")
    for sql in STATEMENTS[vendor][which]:
        schema_editor.execute(sql, params=None)


def install(apps, schema_editor):
    _run(schema_editor, 0)


def remove(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("insight", "0001_initial"),
        ("orders", "0006_insight_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("placed_at", models.DateTimeField(db_index=True)),
            ],
            options={
                "default_permissions": (),
            },
        ),
        migrations.CreateModel(
            name="SalesRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("complete_before", models.DateField(blank=True, null=True)),
                ("time_zone", models.CharField(blank=True, max_length=64)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "default_permissions": (),
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("pk", 1)), name="insight_rollup_single_row")
                ],
            },
        ),
        migrations.CreateModel(
            name="DailySales",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("units", models.PositiveBigIntegerField()),
                (
                    "product",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="orders.product",
                    ),
                ),
            ],
            options={
                "default_permissions": (),
                "constraints": [models.UniqueConstraint(fields=("day", "product"), name="insight_sales_once_a_day")],
            },
        ),
        migrations.RunPython(install, remove),
    ]
