"""A "Viewer" group: staff who may browse customers, templates, triggers and the delivery log
but change nothing (no edits, no Send test, no Resend). Give a user is_staff and this group."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWER = "Viewer"
APPS = ["customers", "templates_app", "triggers", "delivery"]


def create_viewer_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=VIEWER)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=APPS, codename__startswith="view_"
        )
    )


def remove_viewer_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=VIEWER).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0001_initial"),
        ("templates_app", "0002_template_event_and_strict_undefined"),
        ("triggers", "0004_fair_delivery"),
        ("delivery", "0006_delivery_log_indexes"),
    ]

    operations = [migrations.RunPython(create_viewer_group, remove_viewer_group)]
