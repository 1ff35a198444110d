"""R-PP-6: a refund can be partly taken back (a price-protection coupon cancelled when the goods come
back), and the part revoked no longer counts against the order's paid total.

The R-RET-13 triggers of 0002 are re-created to sum `amount - revoked_amount` and to fire on updates
of revoked_amount too. SQLite rebuilds finance_refund for the new column and constraint, which a
trigger naming the table would stop, so the old triggers come off first and the new ones go on last."""

from decimal import Decimal
from importlib import import_module

from django.db import migrations, models

guards = import_module("aftersales.finance.migrations.0002_refunds_within_paid_total")


def _counting_revocations(statements: list[str]) -> list[str]:
    return [
        sql.replace("SUM(amount)", "SUM(amount - revoked_amount)").replace(
            "UPDATE OF amount, state", "UPDATE OF amount, revoked_amount, state"
        )
        for sql in statements
    ]


STATEMENTS = {
    "postgresql": (_counting_revocations(guards.POSTGRESQL_INSTALL), guards.POSTGRESQL_REMOVE),
    "sqlite": (_counting_revocations(guards.SQLITE_INSTALL), guards.SQLITE_REMOVE),
}


def _run(schema_editor, which: int):
    for sql in STATEMENTS[schema_editor.connection.vendor][which]:
        schema_editor.execute(sql, params=None)


def install(apps, schema_editor):
    _run(schema_editor, 0)


def remove(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0004_ledger"),
    ]

    operations = [
        migrations.RunPython(guards.remove, guards.install),
        migrations.AddField(
            model_name="refund",
            name="revoked_amount",
            field=models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=12, verbose_name="revoked"),
        ),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.CheckConstraint(
                condition=models.Q(("revoked_amount__gte", 0), ("revoked_amount__lte", models.F("amount"))),
                name="finance_refund_revoked_within_amount",
            ),
        ),
        migrations.RunPython(install, remove),
    ]
