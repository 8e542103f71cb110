from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_search_pairs_backfill"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="searchtoken",
            index=models.Index(
                fields=["token", "-contact_day", "-customer"],
                name="search_token_prefix_day",
                opclasses=["varchar_pattern_ops", "int4_ops", "int8_ops"],
            ),
        ),
        migrations.AddConstraint(
            model_name="searchtoken",
            constraint=models.UniqueConstraint(fields=("customer", "token"), name="search_token_customer"),
        ),
    ]
