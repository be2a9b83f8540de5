from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mlops", "0004_driftreport_scheduled"),
    ]

    operations = [
        migrations.AddField(
            model_name="jobrun",
            name="duration_seconds",
            field=models.FloatField(blank=True, null=True),
        ),
    ]
