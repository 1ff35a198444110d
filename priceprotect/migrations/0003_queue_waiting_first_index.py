from django.db import migrations

# The claims queue lists claims waiting for review first, longest waiting at the top, then the others
# newest first (priceprotect/admin.py: WAITING_FIRST, WAITING_SINCE). Sorting by those expressions read
# every claim and its case; this index on the price-protection cases holds the same expressions, in the
# order the queue sorts them, so the first page is read straight off it. The expressions must stay the
# SQL Django writes for the admin's ordering. PostgreSQL's alone, like cases_open_first (cases 0007).
WAITING_FIRST = (
    "CREATE INDEX IF NOT EXISTS priceprotect_queue_waiting_first ON cases_case ("
    "(CASE WHEN status = 'submitted' THEN 0 ELSE 1 END), "
    "(CASE WHEN status = 'submitted' THEN opened_at ELSE NULL END) NULLS LAST, "
    "opened_at DESC, id DESC) WHERE kind = 'price_protection'"
)


def waiting_first_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(WAITING_FIRST)


def drop_waiting_first_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS priceprotect_queue_waiting_first")


class Migration(migrations.Migration):
    dependencies = [
        ("priceprotect", "0002_review_percent_message"),
        ("cases", "0007_queue_indexes"),
    ]

    operations = [migrations.RunPython(waiting_first_index, drop_waiting_first_index, elidable=False)]
