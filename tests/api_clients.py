"""API clients for the three roles the API's permissions are tested with."""

from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

PROJECT_APPS = ["customers", "templates_app", "triggers", "delivery"]


def user_with_permissions(username: str, actions: tuple[str, ...]) -> User:
    """A staff user holding the ``actions`` (view, add, change, delete) on every project model."""
    user = User.objects.create_user(username, is_staff=True)  # no password: tokens only
    user.user_permissions.set(
        permission
        for permission in Permission.objects.filter(content_type__app_label__in=PROJECT_APPS)
        if permission.codename.split("_", 1)[0] in actions
    )
    return user


def token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client
