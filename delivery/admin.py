from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from . import services
from .email_check import send_test_email
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


class TestEmailForm(forms.Form):
    to = forms.EmailField(label="Send the test message to")


@admin.register(WorkspaceSettings)
class WorkspaceSettingsAdmin(admin.ModelAdmin):
    form = WorkspaceSettingsForm
    change_form_template = "admin/delivery/workspacesettings/change_form.html"
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

    def get_urls(self):
        view = self.admin_site.admin_view(self.send_test_email_view)
        return [
            path(
                "<path:object_id>/send-test-email/",
                view,
                name="delivery_workspacesettings_send_test_email",
            ),
            *super().get_urls(),
        ]

    def send_test_email_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Asks for a recipient, sends the test message with the saved settings, shows why."""
        workspace = WorkspaceSettings.load()
        if not self.has_change_permission(request, workspace):
            raise PermissionDenied
        result = None
        if request.method == "POST":
            form = TestEmailForm(request.POST)
            if form.is_valid():
                result = send_test_email(workspace, form.cleaned_data["to"])
        else:
            form = TestEmailForm(initial={"to": request.user.email or workspace.alert_email})
        context = {
            **self.admin_site.each_context(request),
            "title": "Send test email",
            "opts": self.opts,
            "original": workspace,
            "workspace": workspace,
            "form": form,
            "result": result,
        }
        return TemplateResponse(
            request, "admin/delivery/workspacesettings/send_test_email.html", context
        )
