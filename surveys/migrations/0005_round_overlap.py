"""Rounds of one tribe that are scheduled (open or closed) must not overlap in time.

Django has no portable constraint for this, so each database gets its own:
an exclusion constraint on PostgreSQL and triggers on SQLite. Drafts are plans and may overlap.
SQLite drops a table's triggers when a later migration rebuilds it (to change a constraint, say):
such a migration must call forwards() again, as 0008 does.
"""

from django.db import migrations

POSTGRES = """
ALTER TABLE surveys_round ADD CONSTRAINT round_no_overlap EXCLUDE USING gist (
    int8range(tribe_id, tribe_id, '[]') WITH &&,
    tstzrange(opens_at, closes_at) WITH &&
) WHERE (state <> 'draft');
"""
POSTGRES_REVERSE = "ALTER TABLE surveys_round DROP CONSTRAINT round_no_overlap;"

SQLITE_CHECK = """
WHEN NEW.state <> 'draft' AND EXISTS (
    SELECT 1 FROM surveys_round AS other
    WHERE other.tribe_id = NEW.tribe_id AND other.id IS NOT NEW.id AND other.state <> 'draft'
      AND other.opens_at < NEW.closes_at AND NEW.opens_at < other.closes_at
)
BEGIN SELECT RAISE(ABORT, 'round_no_overlap: rounds of a tribe must not overlap'); END;
"""
SQLITE = [
    f"CREATE TRIGGER round_no_overlap_insert BEFORE INSERT ON surveys_round {SQLITE_CHECK}",
    f"CREATE TRIGGER round_no_overlap_update BEFORE UPDATE ON surveys_round {SQLITE_CHECK}",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS round_no_overlap_insert;",
    "DROP TRIGGER IF EXISTS round_no_overlap_update;",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0004_invites_reminders")]

    operations = [migrations.RunPython(forwards, backwards)]
