"""Rebuild every card's search keys: word tokens, pair keys and the contact day; none for merged cards.

Runs before the search indexes exist (0007), so the bulk insert does not maintain them row by row.
Among a million cards this takes minutes (about 8 keys per card).
"""

from django.db import migrations

from omnia.core.text import PAIR_MARK, name_search_keys

BATCH = 5000


def rebuild(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    SearchToken = apps.get_model("customers", "SearchToken")
    SearchToken.objects.all().delete()
    cards = Customer.objects.filter(merged_into__isnull=True).order_by("pk")
    after = 0
    while batch := list(
        cards.filter(pk__gt=after).values_list("pk", "first_name", "last_name", "last_contact_at")[:BATCH]
    ):
        SearchToken.objects.bulk_create(
            [
                SearchToken(customer_id=pk, token=key, contact_day=contact.date().toordinal() if contact else 0)
                for pk, first, last, contact in batch
                for key in name_search_keys(first, last)
            ],
            batch_size=BATCH,
        )
        after = batch[-1][0]


def drop_pair_keys(apps, schema_editor):
    apps.get_model("customers", "SearchToken").objects.filter(token__startswith=PAIR_MARK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_search_pairs"),
    ]

    operations = [
        migrations.RunPython(rebuild, drop_pair_keys, elidable=True),
    ]
