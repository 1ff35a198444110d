from django.conf import settings
from django.db import migrations, models

# The returns queue and the repair board sort open cases first, then by opening (closed_at ASC NULLS FIRST,
# opened_at, id). SQLite cannot write NULLS FIRST in an index and sorts NULLs first anyway, so this index
# is PostgreSQL's alone and is not in the model's Meta (SQLite's table rebuilds would try to copy it).
OPEN_FIRST = "CREATE INDEX IF NOT EXISTS cases_open_first ON cases_case (closed_at ASC NULLS FIRST, opened_at, id)"


def open_first_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OPEN_FIRST)


def drop_open_first_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS cases_open_first")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_feedback_reason_follow_ups"),
        ("orders", "0006_insight_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="kind",
            field=models.CharField(
                choices=[
                    ("return", "Return & refund"),
                    ("exchange", "Exchange"),
                    ("reissue", "Reissue"),
                    ("refund_only", "Refund only"),
                    ("warranty", "Warranty claim"),
                    ("price_protection", "Price protection"),
                    ("ticket", "Support ticket"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["kind", "status", "-opened_at"], name="cases_kind_status_recent"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["-opened_at", "-id"], name="cases_recent"),
        ),
        migrations.RunPython(open_first_index, drop_open_first_index, elidable=False),
    ]
