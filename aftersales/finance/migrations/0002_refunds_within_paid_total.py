"""R-RET-13 in the database: the non-rejected refunds of an order never add up to more than its
paid_total, whatever writes them (the service, raw SQL, a bulk update, a bug).

`finance.services.request_refund` checks the same thing first and answers with PolicyRefused; these
triggers are the backstop. A breach is a check violation, so Django raises IntegrityError.

Both sides are guarded: writing a refund (insert, or an update of its amount, state or order) and
lowering an order's paid_total. Triggers fire AFTER the row is written, so one sum that includes the
row itself serves inserts and updates alike.

Later migrations: on SQLite, a table rebuild of finance_refund or orders_order drops its triggers, and
on PostgreSQL a column in a trigger's WHEN or UPDATE OF cannot change type; drop and re-create them
around such a change. tests/finance/test_refund_cap.py fails if they go missing."""

from django.db import migrations

POSTGRESQL_INSTALL = [
    """
    CREATE FUNCTION finance_refund_within_paid_total() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        paid numeric;
        taken numeric;
    BEGIN
        -- Lock the order so two writers check one after the other; the second one's sum (a fresh
        -- snapshot per statement under READ COMMITTED) sees the first one's committed refund.
        -- NO KEY UPDATE, not UPDATE: a writer may already hold KEY SHARE on this row (an immediate
        -- foreign-key check, FOR KEY SHARE); FOR UPDATE would wait on it and two inserts deadlock.
        SELECT paid_total INTO paid FROM orders_order WHERE id = NEW.order_id FOR NO KEY UPDATE;
        SELECT COALESCE(SUM(amount), 0) INTO taken
          FROM finance_refund WHERE order_id = NEW.order_id AND state <> 'rejected';
        IF taken > paid THEN
            RAISE EXCEPTION 'refunds exceed paid total for order % (R-RET-13)', NEW.order_id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER finance_refund_within_paid_total
    AFTER INSERT OR UPDATE OF amount, state, order_id ON finance_refund
    FOR EACH ROW WHEN (NEW.state <> 'rejected')
    EXECUTE FUNCTION finance_refund_within_paid_total()
    """,
    """
    CREATE FUNCTION orders_order_paid_total_covers_refunds() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- The UPDATE already holds this order's row lock, so refund writers wait for it.
        IF (SELECT COALESCE(SUM(amount), 0) FROM finance_refund
             WHERE order_id = NEW.id AND state <> 'rejected') > NEW.paid_total THEN
            RAISE EXCEPTION 'refunds exceed paid total for order % (R-RET-13)', NEW.id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    # Only a lower paid_total can break the rule; Model.save() rewrites every column.
    """
    CREATE TRIGGER orders_order_paid_total_covers_refunds
    AFTER UPDATE OF paid_total ON orders_order
    FOR EACH ROW WHEN (NEW.paid_total < OLD.paid_total)
    EXECUTE FUNCTION orders_order_paid_total_covers_refunds()
    """,
]

POSTGRESQL_REMOVE = [
    "DROP TRIGGER IF EXISTS orders_order_paid_total_covers_refunds ON orders_order",
    "DROP FUNCTION IF EXISTS orders_order_paid_total_covers_refunds()",
    "DROP TRIGGER IF EXISTS finance_refund_within_paid_total ON finance_refund",
    "DROP FUNCTION IF EXISTS finance_refund_within_paid_total()",
]

# SQLite keeps decimals as binary floats: sums are rounded to the cent before comparing, as the
# orders CHECK constraints do. SQLite has one writer at a time, so no lock is needed.
SQLITE_INSTALL = [
    """
    CREATE TRIGGER finance_refund_within_paid_total_insert
    AFTER INSERT ON finance_refund
    WHEN NEW.state <> 'rejected'
    BEGIN
        SELECT RAISE(ABORT, 'refunds exceed paid total (R-RET-13)')
         WHERE ROUND((SELECT COALESCE(SUM(amount), 0) FROM finance_refund
                       WHERE order_id = NEW.order_id AND state <> 'rejected'), 2)
             > ROUND((SELECT paid_total FROM orders_order WHERE id = NEW.order_id), 2);
    END
    """,
    """
    CREATE TRIGGER finance_refund_within_paid_total_update
    AFTER UPDATE OF amount, state, order_id ON finance_refund
    WHEN NEW.state <> 'rejected'
    BEGIN
        SELECT RAISE(ABORT, 'refunds exceed paid total (R-RET-13)')
         WHERE ROUND((SELECT COALESCE(SUM(amount), 0) FROM finance_refund
                       WHERE order_id = NEW.order_id AND state <> 'rejected'), 2)
             > ROUND((SELECT paid_total FROM orders_order WHERE id = NEW.order_id), 2);
    END
    """,
    """
    CREATE TRIGGER orders_order_paid_total_covers_refunds
    AFTER UPDATE OF paid_total ON orders_order
    WHEN ROUND(NEW.paid_total, 2) < ROUND(OLD.paid_total, 2)
    BEGIN
        SELECT RAISE(ABORT, 'refunds exceed paid total (R-RET-13)')
         WHERE ROUND((SELECT COALESCE(SUM(amount), 0) FROM finance_refund
                       WHERE order_id = NEW.id AND state <> 'rejected'), 2)
             > ROUND(NEW.paid_total, 2);
    END
    """,
]

SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS orders_order_paid_total_covers_refunds",
    "DROP TRIGGER IF EXISTS finance_refund_within_paid_total_update",
    "DROP TRIGGER IF EXISTS finance_refund_within_paid_total_insert",
]

STATEMENTS = {
    "postgresql": (POSTGRESQL_INSTALL, POSTGRESQL_REMOVE),
    "sqlite": (SQLITE_INSTALL, SQLITE_REMOVE),
}


def _run(schema_editor, which: int):
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        # Better to stop than to run without the backstop the code relies on.
        raise NotImplementedError(f"No R-RET-13 refund triggers for the {vendor} database.")
    for sql in STATEMENTS[vendor][which]:
        schema_editor.execute(sql, params=None)  # no parameters: the % in RAISE is not a placeholder


def install(apps, schema_editor):
    _run(schema_editor, 0)


def remove(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0001_initial"),
        ("orders", "0002_verbose_names"),
    ]

    operations = [migrations.RunPython(install, remove)]
