# Indexes that only cost imports: two duplicated by composite indexes, one of nulls.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0010_fewer_write_indexes"),
        ("handlers", "0002_reference_data"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="claimclinician",
            name="claim",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="claim_clinicians",
                to="claims.claim",
            ),
        ),
        migrations.AlterField(
            model_name="claimhandling",
            name="organisation",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="handlings",
                to="handlers.handlerorganisation",
            ),
        ),
        migrations.AlterField(
            model_name="deadline",
            name="waived_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="waived_deadlines",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="deadline",
            index=models.Index(
                condition=models.Q(("waived_by__isnull", False)),
                fields=["waived_by"],
                name="deadline_waived_by",
            ),
        ),
    ]
