from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from delivery.selectors import order_postbacks, recent_postbacks
from templates_app.models import LookupTable
from triggers.admin import destination, health, show_signing_secrets
from triggers.forms import NewTriggerForm, NewTriggerFormSet
from triggers.models import Trigger

from .models import Customer, Order


class TriggerListInline(admin.TabularInline):
    """The customer's triggers, each linking to its page (tests, activation, secrets)."""

    model = Trigger
    verbose_name_plural = "Triggers"
    fields = readonly_fields = ["name", "event", "template", "delivery", "state"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # added by NewTriggerInline, under its own heading

    def get_queryset(self, request: HttpRequest) -> QuerySet[Trigger]:
        return super().get_queryset(request).select_related("template", "customer")

    @admin.display(description="delivery")
    def delivery(self, trigger: Trigger) -> str:
        return f"{trigger.get_delivery_method_display()}: {destination(trigger)}"

    @admin.display(description="state")
    def state(self, trigger: Trigger) -> str:
        return health(trigger)


class NewTriggerInline(admin.TabularInline):
    """Adding a trigger from the customer's page; the template's "+" creates a template in a
    popup without leaving it. New triggers start inactive, to be tested and activated."""

    model = Trigger
    form = NewTriggerForm
    formset = NewTriggerFormSet
    fields = NewTriggerForm.Meta.fields
    verbose_name = "new trigger"
    verbose_name_plural = "Add a trigger"
    extra = 1
    can_delete = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Trigger]:
        return super().get_queryset(request).none()

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # Shown only to those who can add: for anyone else it would be an empty table.
        return self.has_add_permission(request, obj)


class LookupTableInline(admin.TabularInline):
    model = LookupTable
    fields = ["name", "template_field", "entry_count"]
    readonly_fields = ["entry_count"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[LookupTable]:
        return super().get_queryset(request).annotate(entry_count=Count("entries"))

    @admin.display(description="rows")
    def entry_count(self, table: LookupTable) -> int | str:
        # An unsaved row has no annotation.
        return getattr(table, "entry_count", "")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "reference_id", "contact_email", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "reference_id", "contact_email"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [TriggerListInline, NewTriggerInline, LookupTableInline]
    change_form_template = "admin/customers/customer/change_form.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):  # type: ignore[no-untyped-def]
        context["postbacks"] = recent_postbacks(obj.pk) if obj else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_formset(self, request, form, formset, change) -> None:  # type: ignore[no-untyped-def]
        super().save_formset(request, form, formset, change)
        if isinstance(formset, NewTriggerFormSet) and formset.new_objects:
            request.created_triggers = formset.new_objects

    def response_add(self, request, obj, post_url_continue=None):  # type: ignore[no-untyped-def]
        response = super().response_add(request, obj, post_url_continue)
        return self._show_new_secrets(request, response)

    def response_change(self, request, obj):  # type: ignore[no-untyped-def]
        return self._show_new_secrets(request, super().response_change(request, obj))

    def _show_new_secrets(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """After triggers were added here, show their signing secrets once, then go on."""
        created = getattr(request, "created_triggers", None)
        if not created or not isinstance(response, HttpResponseRedirect):
            return response
        messages.info(
            request, "New triggers are inactive: open each one, send a test, then activate it."
        )
        return show_signing_secrets(request, created, response.url, "Triggers created")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["reference_id", "customer", "status", "updated_at"]
    list_filter = ["status", "customer"]
    list_select_related = ["customer"]
    search_fields = ["reference_id", "customer__name", "customer__reference_id"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    autocomplete_fields = ["customer"]
    change_form_template = "admin/customers/order/change_form.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):  # type: ignore[no-untyped-def]
        context["postbacks"] = order_postbacks(obj.pk) if obj else []
        return super().render_change_form(request, context, add, change, form_url, obj)
