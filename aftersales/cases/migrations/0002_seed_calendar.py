"""Seed the business calendar from chinesecalendar for every year it knows."""

from django.db import migrations


def seed(apps, schema_editor):
    from aftersales.cases.calendar import sync_from_chinesecalendar

    sync_from_chinesecalendar(model=apps.get_model("cases", "BusinessDay"))
    NumberSequence = apps.get_model("cases", "NumberSequence")
    for prefix in ("RMA", "WAR", "PP", "TKT"):
        NumberSequence.objects.get_or_create(prefix=prefix)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
