from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from delivery.selectors import last_test_attempt
from delivery.services import send_test_postback
from postbacks_site.admin_tools import WriteOnlySecretsMixin, set_active_each, stored_secret

from . import services
from .forms import TriggerForm
from .masking import mask_signing_secret, masked_header_pairs
from .models import Trigger


def health(trigger: Trigger) -> str:
    """One line for lists: is it sending, and if not, why."""
    if trigger.deactivated_at:
        return f"Deactivated {trigger.deactivated_at:%Y-%m-%d %H:%M}: {trigger.deactivation_reason}"
    if not trigger.is_active:
        return "Inactive"
    if trigger.failing_since:
        return f"Active, failing since {trigger.failing_since:%Y-%m-%d %H:%M}"
    return "Active"


def destination(trigger: Trigger) -> str:
    if trigger.delivery_method == Trigger.DeliveryMethod.WEBHOOK:
        return trigger.url
    return trigger.email_recipients


def show_signing_secrets(
    request: HttpRequest, triggers: list[Trigger], continue_url: str, title: str
) -> HttpResponse:
    """The one page that shows signing secrets in full: after creation and after rotation.

    It is the answer to the POST that made them, never stored or cached, so the secret is
    on screen once; every other page masks it.
    """
    context = {
        **admin.site.each_context(request),
        "title": title,
        "triggers": triggers,
        "continue_url": continue_url,
    }
    response = TemplateResponse(request, "admin/triggers/trigger/signing_secret.html", context)
    add_never_cache_headers(response)
    return response


@admin.register(Trigger)
class TriggerAdmin(WriteOnlySecretsMixin, admin.ModelAdmin):
    form = TriggerForm
    change_form_template = "admin/triggers/trigger/change_form.html"
    list_display = [
        "name",
        "customer",
        "event",
        "delivery_method",
        "destination",
        "template",
        "status",
    ]
    list_filter = ["is_active", "event", "delivery_method", "customer"]
    list_select_related = ["customer", "template"]
    search_fields = ["name", "customer__name", "url", "email_recipients"]
    autocomplete_fields = ["customer", "template"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = [
        "status",
        "failing_since",
        "deactivated_at",
        "deactivation_reason",
        "signing_secret_masked",
        "previous_secret_expires_at",
    ]
    secret_fields = {
        "auth_secret": "auth_secret_masked",
        "custom_headers": "custom_headers_masked",
        "remove_custom_headers": None,
    }
    actions = ["activate_selected", "deactivate_selected"]

    def get_fieldsets(self, request: HttpRequest, obj: Trigger | None = None):  # type: ignore[no-untyped-def]
        fieldsets = [
            (None, {"fields": ["customer", "name", "event", "template"]}),
            (
                "Delivery",
                {
                    "fields": [
                        "delivery_method",
                        ("url", "http_method"),
                        "email_recipients",
                        "retry_on_failure",
                        "ordered_delivery",
                    ]
                },
            ),
            (
                "Authentication and headers (webhooks)",
                {
                    "fields": [
                        "auth_type",
                        "auth_username",
                        "auth_secret",
                        "custom_headers",
                        "remove_custom_headers",
                    ]
                },
            ),
        ]
        if obj is not None:
            fieldsets[1:1] = [
                (
                    "Status and health",
                    {
                        "fields": ["status", "failing_since", "deactivated_at"]
                        + (["deactivation_reason"] if obj.deactivation_reason else [])
                    },
                ),
            ]
            fieldsets.append(
                ("Signing", {"fields": ["signing_secret_masked", "previous_secret_expires_at"]})
            )
        return self.mask_secrets(request, obj, fieldsets)

    @admin.display(description="status")
    def status(self, trigger: Trigger) -> str:
        return health(trigger)

    @admin.display(description="destination")
    def destination(self, trigger: Trigger) -> str:
        return destination(trigger)

    @admin.display(description="signing secret")
    def signing_secret_masked(self, trigger: Trigger) -> str:
        return (
            f"{mask_signing_secret(trigger.signing_secret)} — shown in full only when created "
            "or rotated"
        )

    @admin.display(description="password or token")
    def auth_secret_masked(self, trigger: Trigger) -> str:
        return stored_secret(trigger.auth_secret)

    @admin.display(description="custom headers")
    def custom_headers_masked(self, trigger: Trigger) -> str:
        return ", ".join(f"{name}: {value}" for name, value in masked_header_pairs(trigger))

    # --- pages and buttons -------------------------------------------------------------------

    def get_urls(self):  # type: ignore[no-untyped-def]
        def post(view, name: str):  # type: ignore[no-untyped-def]
            return path(
                f"<path:object_id>/{name.replace('_', '-')}/",
                self.admin_site.admin_view(require_POST(view)),
                name=f"triggers_trigger_{name}",
            )

        return [
            post(self.send_test_view, "send_test"),
            post(self.activate_view, "activate"),
            post(self.deactivate_view, "deactivate"),
            post(self.rotate_secret_view, "rotate_secret"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):  # type: ignore[no-untyped-def]
        context["last_test"] = last_test_attempt(obj.pk) if obj else None
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):  # type: ignore[no-untyped-def]
        response = super().response_add(request, obj, post_url_continue)
        if not isinstance(response, HttpResponseRedirect):  # the template popup's answer
            return response
        messages.info(request, "The trigger is inactive: send a test, then activate it.")
        return show_signing_secrets(request, [obj], response.url, "Trigger created")

    def _changeable(self, request: HttpRequest, object_id: str) -> Trigger:
        trigger = get_object_or_404(Trigger.objects.select_related("template"), pk=object_id)
        if not self.has_change_permission(request, trigger):
            raise PermissionDenied
        return trigger

    def _back(self, trigger: Trigger, anchor: str = "") -> HttpResponseRedirect:
        url = reverse("admin:triggers_trigger_change", args=[trigger.pk])
        return HttpResponseRedirect(url + anchor)

    def send_test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Sends the event's sample data to the saved destination; the page shows the attempt."""
        trigger = self._changeable(request, object_id)
        attempt = send_test_postback(trigger)
        level = messages.SUCCESS if attempt.outcome == attempt.Outcome.SUCCESS else messages.ERROR
        self.message_user(request, f"Test sent: {attempt.get_outcome_display().lower()}.", level)
        return self._back(trigger, "#last-test")

    def activate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        trigger = self._changeable(request, object_id)
        set_active_each(self, request, [trigger], True, services.set_active)
        return self._back(trigger)

    def deactivate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        trigger = self._changeable(request, object_id)
        set_active_each(self, request, [trigger], False, services.set_active)
        return self._back(trigger)

    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        trigger = self._changeable(request, object_id)
        trigger.signing_secret = services.rotate_signing_secret(trigger, timezone.now())
        trigger.refresh_from_db(fields=["previous_secret_expires_at"])
        return show_signing_secrets(
            request,
            [trigger],
            reverse("admin:triggers_trigger_change", args=[trigger.pk]),
            "Signing secret rotated",
        )

    # --- actions -----------------------------------------------------------------------------

    @admin.action(description="Activate the selected triggers", permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Trigger]) -> None:
        triggers = queryset.select_related("template")
        set_active_each(self, request, triggers, True, services.set_active)

    @admin.action(description="Deactivate the selected triggers", permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[Trigger]) -> None:
        set_active_each(self, request, queryset, False, services.set_active)
