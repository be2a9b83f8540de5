from django.db import migrations


def rollups_rebuild_all_days(apps, schema_editor):
    """Backfill: the days where the pages' windows start (``mlops.rollups.days.WINDOW_STARTS_BACK``) have no hour rows
    yet, so readers must not trust them until every day is rebuilt.

    Clearing the state sends readers to live SQL (exact, slower) and makes the next refresh recompute every day,
    with its hours where they are kept, from the first prediction; the user totals keep their watermark.
    """
    apps.get_model("mlops", "RollupState").objects.update(refreshed_at=None, complete_before=None)


class Migration(migrations.Migration):

    dependencies = [
        ("mlops", "0012_hourly_rollups_for_window_edges"),
    ]

    operations = [
        migrations.RunPython(rollups_rebuild_all_days, migrations.RunPython.noop),
    ]
