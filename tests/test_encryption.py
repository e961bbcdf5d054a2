import pytest
from django.db import connection

from delivery.models import WorkspaceSettings

pytestmark = pytest.mark.django_db


def test_smtp_password_is_encrypted_at_rest():
    workspace = WorkspaceSettings.load()
    workspace.smtp_password = "hunter2-very-secret"
    workspace.save()

    with connection.cursor() as cursor:
        cursor.execute("SELECT smtp_password FROM delivery_workspacesettings")
        (stored,) = cursor.fetchone()

    assert stored.startswith("fernet:")
    assert "hunter2" not in stored
    assert WorkspaceSettings.load().smtp_password == "hunter2-very-secret"
