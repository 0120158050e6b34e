"""Staff groups `support` and `admin` with explicit permissions (see gocsm/staffroles.py)."""

from django.db import migrations


def create_groups(apps, schema_editor):
    from gocsm.staffroles import ensure_staff_groups

    if schema_editor.connection.alias != "default":
        return
    ensure_staff_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("otp_totp", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
