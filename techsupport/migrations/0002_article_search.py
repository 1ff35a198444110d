"""Full-text search of the knowledge base (R-SUP-5) on PostgreSQL: a GIN index over the weighted
document `techsupport.kb.selectors._vector()` builds, expression for expression ('simple' configuration;
title A, summary B, text C), so searches use it. Other databases have no such index and search by
substring; this migration does nothing there."""

from django.db import migrations

INDEX = "techsupport_article_search"

CREATE = f"""
CREATE INDEX IF NOT EXISTS {INDEX} ON techsupport_article USING gin ((
    setweight(to_tsvector('simple'::regconfig, COALESCE(title, '')), 'A')
    || setweight(to_tsvector('simple'::regconfig, COALESCE(summary, '')), 'B')
    || setweight(to_tsvector('simple'::regconfig, COALESCE(body, '')), 'C')
))
"""
DROP = f"DROP INDEX IF EXISTS {INDEX}"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("techsupport", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
