from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from postbacks_site.admin_tools import WriteOnlySecretsMixin, stored_secret
from triggers.models import Trigger

from . import envelopes, selectors, services
from .email_check import send_test_email
from .models import DeliveryAttempt, Postback, WorkspaceSettings


class DeliveryAttemptInline(admin.TabularInline):
    """Every attempt of a postback: the request sent and the response received, side by side.

    Request headers were stored masked (``envelopes.masked_headers``), so the page shows no
    credential or API key.
    """

    model = DeliveryAttempt
    template = "admin/delivery/postback/attempts.html"
    extra = 0
    can_delete = False
    fields = readonly_fields = ["number"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class DateRangeFilter(admin.DateFieldListFilter):
    """Django's date shortcuts (today, past 7 days, …) plus a from/to form, both days
    included, in the workspace's time zone."""

    template = "admin/delivery/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):  # type: ignore[no-untyped-def]
        self.from_param, self.to_param = f"{field_path}__from", f"{field_path}__to"
        self.range = {
            name: params.pop(name)[-1]
            for name in (self.from_param, self.to_param)
            if name in params
        }
        super().__init__(field, request, params, model, model_admin, field_path)
        self.carried = [
            (name, value)
            for name, values in request.GET.lists()
            if not name.startswith(self.field_generic) and name != "p"
            for value in values
        ]

    def expected_parameters(self) -> list[str]:
        return [*super().expected_parameters(), self.from_param, self.to_param]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        queryset = super().queryset(request, queryset)
        try:
            if self.from_param in self.range:
                start = _start_of_day(self.range[self.from_param])
                queryset = queryset.filter(**{f"{self.field_path}__gte": start})
            if self.to_param in self.range:
                end = _start_of_day(self.range[self.to_param]) + timedelta(days=1)
                queryset = queryset.filter(**{f"{self.field_path}__lt": end})
        except ValueError as error:
            raise IncorrectLookupParameters(error) from error
        return queryset


def _start_of_day(day: str) -> datetime:
    return timezone.make_aware(datetime.combine(date.fromisoformat(day), time.min))


class TriggerFilter(admin.RelatedFieldListFilter):
    """Triggers are named with their customer: fetch both in one query."""

    def field_choices(self, field, request, model_admin):  # type: ignore[no-untyped-def]
        return [
            (trigger.pk, str(trigger)) for trigger in Trigger.objects.select_related("customer")
        ]


@admin.register(Postback)
class PostbackAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "event",
        "order_reference",
        "customer",
        "trigger_name",
        "status_badge",
        "attempt_count",
        "next_attempt_at",
        "is_test",
    ]
    list_filter = [
        ("created_at", DateRangeFilter),
        "status",
        "event",
        "trigger__customer",
        ("trigger", TriggerFilter),
        "is_test",
    ]
    list_select_related = ["trigger__customer"]
    list_per_page = 50
    # Counting every row of a long log on each page view is slow; "Show all" counts on demand.
    show_full_result_count = False
    search_fields = ["order_reference"]
    search_help_text = "An order reference (exactly as sent), or a webhook-id (msg_…)."
    date_hierarchy = "created_at"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("status", "attempt_count", "next_attempt_at"),
                    "last_error",
                    ("trigger", "event", "is_test"),
                    ("order", "order_reference"),
                    "webhook_id",
                    ("created_at", "delivered_at"),
                ]
            },
        ),
        (
            "What was sent",
            {"fields": ["content_type", "subject", "body", "html_body", "rendered_at"]},
        ),
        ("Event data", {"fields": ["event_data"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        name
        for _, options in fieldsets
        for row in options["fields"]
        for name in (row if isinstance(row, tuple) else (row,))
    ]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_failed"]
    change_form_template = "admin/delivery/postback/change_form.html"
    change_list_template = "admin/delivery/postback/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        return selectors.search_postbacks(queryset, search_term), False

    @admin.display(description="customer", ordering="trigger__customer__name")
    def customer(self, postback: Postback) -> str:
        return postback.trigger.customer.name

    @admin.display(description="trigger", ordering="trigger__name")
    def trigger_name(self, postback: Postback) -> str:
        return postback.trigger.name

    @admin.display(description="status", ordering="status")
    def status_badge(self, postback: Postback) -> str:
        return format_html(
            '<span class="badge {}">{}</span>', postback.status, postback.get_status_display()
        )

    @admin.display(description="webhook-id")
    def webhook_id(self, postback: Postback) -> str:
        return envelopes.webhook_id(postback)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        # Everything is read-only: the page is for reading and for Resend, not for saving.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "overview/",
                self.admin_site.admin_view(self.overview_view),
                name="delivery_postback_overview",
            ),
            path(
                "<path:object_id>/resend/",
                self.admin_site.admin_view(require_POST(self.resend_view)),
                name="delivery_postback_resend",
            ),
            *super().get_urls(),
        ]

    def resend_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        postback = get_object_or_404(Postback, pk=object_id)
        if not self.has_change_permission(request, postback):
            raise PermissionDenied
        services.resend([postback.pk])
        self.message_user(
            request,
            "Queued for one more attempt; it appears below in a few seconds (reload the page).",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:delivery_postback_change", args=[postback.pk]))

    @admin.action(description="Retry the selected failed postbacks now", permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Postback]) -> None:
        selected = queryset.count()
        failed = list(queryset.filter(status=Postback.Status.FAILED).values_list("pk", flat=True))
        services.resend(failed)
        left = selected - len(failed)
        self.message_user(
            request,
            f"Queued {len(failed)} failed postback(s) for one more attempt."
            + (f" {left} selected postback(s) had not failed and were left alone." if left else ""),
            messages.SUCCESS if failed else messages.WARNING,
        )

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """The last 24 hours and 7 days at a glance; see ``selectors`` for the definitions."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Delivery overview",
            "opts": self.opts,
            "overview": selectors.overview(timezone.now()),
        }
        return TemplateResponse(request, "admin/delivery/overview.html", context)


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
class WorkspaceSettingsAdmin(WriteOnlySecretsMixin, admin.ModelAdmin):
    form = WorkspaceSettingsForm
    secret_fields = {"smtp_password": "smtp_password_masked"}
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

    @admin.display(description="SMTP password")
    def smtp_password_masked(self, workspace: WorkspaceSettings) -> str:
        return stored_secret(workspace.smtp_password)

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
