from django.db import migrations, models


def scheduled_from_results(apps, schema_editor):
    """Reports stored before the column said whether they were periodic in their JSON results only."""
    DriftReport = apps.get_model("mlops", "DriftReport")
    DriftReport.objects.filter(results__scheduled=True).update(scheduled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("mlops", "0003_monitoring_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="driftreport",
            name="scheduled",
            field=models.BooleanField(default=False, help_text="Computed by the periodic task (read by alert rules), not on demand."),
        ),
        migrations.AddIndex(
            model_name="driftreport",
            index=models.Index(fields=["scheduled", "created_at"], name="drift_report_scheduled_idx"),
        ),
        migrations.RunPython(scheduled_from_results, migrations.RunPython.noop, elidable=True),
    ]
