from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import DeliveryAttempt, Postback, WorkspaceSettings


class DeliveryAttemptInline(admin.StackedInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = [
        ("number", "kind", "outcome", "started_at", "duration_ms"),
        ("request_method", "destination"),
        "request_headers",
        "request_body",
        ("response_status", "response_truncated"),
        "response_headers",
        "response_body",
        "error",
    ]
    readonly_fields = [
        name for row in fields for name in (row if isinstance(row, tuple) else (row,))
    ]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Postback)
class PostbackAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "event",
        "order_reference",
        "trigger",
        "status",
        "attempt_count",
        "next_attempt_at",
    ]
    list_filter = ["status", "event", "created_at", "trigger__customer", "trigger"]
    list_select_related = ["trigger__customer"]
    search_fields = ["order_reference", "public_id"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "public_id",
        "trigger",
        "order",
        "order_reference",
        "event",
        "event_data",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_error",
        "rendered_at",
        "content_type",
        "subject",
        "body",
        "html_body",
        "created_at",
        "delivered_at",
    ]
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Resend the selected postbacks now", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Postback]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        services.resend(ids)
        self.message_user(
            request, f"Queued {len(ids)} postback(s) for one more attempt.", messages.SUCCESS
        )


class WorkspaceSettingsForm(forms.ModelForm):
    """Never shows the stored SMTP password; leaving the field empty keeps it."""

    smtp_password = forms.CharField(
        label="SMTP password",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current password.",
    )

    class Meta:
        model = WorkspaceSettings
        fields = [
            "sender_email",
            "sender_name",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "smtp_password",
            "alert_email",
        ]

    def clean_smtp_password(self) -> str:
        return self.cleaned_data["smtp_password"] or self.instance.smtp_password


@admin.register(WorkspaceSettings)
class WorkspaceSettingsAdmin(admin.ModelAdmin):
    form = WorkspaceSettingsForm
    fieldsets = [
        ("Sender", {"fields": ["sender_email", "sender_name"]}),
        (
            "Outgoing mail server (SMTP)",
            {
                "fields": [
                    ("smtp_host", "smtp_port"),
                    "smtp_security",
                    "smtp_username",
                    "smtp_password",
                ]
            },
        ),
        ("Alerts", {"fields": ["alert_email"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not WorkspaceSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
