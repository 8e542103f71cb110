from django.db import migrations


def copy_barcodes(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Every variant's main barcode is one of its barcodes (the Barcode table is what scans look up)."""
    Variant = apps.get_model("catalog", "Variant")
    Barcode = apps.get_model("catalog", "Barcode")
    seen = set(Barcode.objects.values_list("code", flat=True))
    rows = []
    for variant_id, code in Variant.objects.exclude(barcode="").values_list("id", "barcode").iterator():
        if code not in seen:
            seen.add(code)
            rows.append(Barcode(variant_id=variant_id, code=code))
    Barcode.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_prices_barcodes_images")]

    operations = [migrations.RunPython(copy_barcodes, migrations.RunPython.noop)]
