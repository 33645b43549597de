"""What the schema cannot say portably: rounds of a tribe must not overlap, and the default deck.

The overlap rule holds for scheduled, open and closed rounds (drafts and cancelled rounds are
not plans). PostgreSQL has an exclusion constraint for it; SQLite gets triggers. SQLite drops a
table's triggers when a migration rebuilds the table, so a later migration that changes
surveys_round must call sqlite_triggers() again.
"""

from django.db import migrations

from surveys.deck import DEFAULT_DECK

STATES = "('scheduled', 'open', 'closed')"

POSTGRES = f"""
ALTER TABLE surveys_round ADD CONSTRAINT round_no_overlap EXCLUDE USING gist (
    int8range(tribe_id, tribe_id, '[]') WITH &&,
    tstzrange(opens_at, closes_at) WITH &&
) WHERE (state IN {STATES});
"""
POSTGRES_REVERSE = "ALTER TABLE surveys_round DROP CONSTRAINT round_no_overlap;"

SQLITE_CHECK = f"""
WHEN NEW.state IN {STATES} AND EXISTS (
    SELECT 1 FROM surveys_round AS other
    WHERE other.tribe_id = NEW.tribe_id AND other.id IS NOT NEW.id AND other.state IN {STATES}
      AND other.opens_at < NEW.closes_at AND NEW.opens_at < other.closes_at
)
BEGIN SELECT RAISE(ABORT, 'round_no_overlap: rounds of a tribe must not overlap'); END;
"""
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS round_no_overlap_insert;",
    "DROP TRIGGER IF EXISTS round_no_overlap_update;",
]


def sqlite_triggers(schema_editor) -> None:
    for statement in SQLITE_REVERSE:
        schema_editor.execute(statement)
    for event in ("insert", "update"):
        schema_editor.execute(
            f"CREATE TRIGGER round_no_overlap_{event} BEFORE {event.upper()} ON surveys_round {SQLITE_CHECK}"
        )


def add_overlap_rule(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        sqlite_triggers(schema_editor)


def remove_overlap_rule(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


def load_default_deck(apps, schema_editor):
    HealthCard = apps.get_model("surveys", "HealthCard")
    HealthCard.objects.bulk_create(
        HealthCard(tribe=None, position=position, **card) for position, card in enumerate(DEFAULT_DECK)
    )


def unload_default_deck(apps, schema_editor):
    apps.get_model("surveys", "HealthCard").objects.filter(tribe=None).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [
        migrations.RunPython(add_overlap_rule, remove_overlap_rule),
        migrations.RunPython(load_default_deck, unload_default_deck),
    ]
