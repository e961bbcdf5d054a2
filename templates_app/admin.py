from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin

from postbacks_site.admin_tools import set_active_each

from . import services
from .downloads import lookup_csv_response
from .forms import LookupCsvImportForm, RenderForm, RenderInputForm
from .models import LookupEntry, LookupTable, Template
from .rendering import part_format

PART_LABELS = {"subject": "Subject", "body": "Body", "html_body": "HTML body"}


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "format", "event", "is_active", "updated_at"]
    list_filter = ["kind", "format", "event", "is_active"]
    search_fields = ["name", "body", "subject"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "format", "event", "strict_undefined", "is_active"]}),
        ("Content", {"fields": ["subject", "body", "html_body"]}),
    ]
    change_form_template = "admin/templates_app/template/change_form.html"
    actions = ["activate_selected", "deactivate_selected"]

    @admin.action(description="Activate the selected templates", permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        set_active_each(self, request, queryset, True, services.set_active)

    @admin.action(description="Deactivate the selected templates", permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        set_active_each(self, request, queryset, False, services.set_active)

    def get_urls(self):  # type: ignore[no-untyped-def]
        # Its answer is shown in a frame of the template's page: same-origin framing only.
        render = self.admin_site.admin_view(xframe_options_sameorigin(self.render_view))
        return [path("render/", render, name="templates_app_template_render"), *super().get_urls()]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        template = self.get_object(request, object_id) if object_id else None
        initial = {"render_event": template.event} if template else {}
        extra_context = {**(extra_context or {}), "render_form": RenderInputForm(initial=initial)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_view(self, request: HttpRequest) -> HttpResponse:
        """Render the change form's current, unsaved text; shown in the panel's frame."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = RenderForm(request.POST)
        context = {**self.admin_site.each_context(request), "form": form}
        if form.is_valid():
            template = form.unsaved_template()
            customer = form.cleaned_data["render_customer"]
            result = services.render_preview(
                template,
                event=form.cleaned_data["render_event"] or None,
                data=form.cleaned_data["render_data"] or None,
                customer_id=customer.pk if customer else None,
            )
            context["result"] = result
            context["outputs"] = [
                (PART_LABELS[part], services.pretty_output(text, part_format(template, part)))
                for part, text in result.parts.items()
            ]
        return TemplateResponse(request, "admin/templates_app/template/render_result.html", context)


class LookupEntryInline(admin.TabularInline):
    model = LookupEntry
    extra = 1


@admin.register(LookupTable)
class LookupTableAdmin(admin.ModelAdmin):
    list_display = ["name", "template_field", "customer"]
    list_filter = ["customer"]
    list_select_related = ["customer"]
    search_fields = ["name", "template_field", "customer__name"]
    autocomplete_fields = ["customer"]
    inlines = [LookupEntryInline]
    change_form_template = "admin/templates_app/lookuptable/change_form.html"

    def get_urls(self):  # type: ignore[no-untyped-def]
        def view(function):  # type: ignore[no-untyped-def]
            return self.admin_site.admin_view(function)

        return [
            path(
                "<path:object_id>/import-csv/",
                view(self.import_csv_view),
                name="templates_app_lookuptable_import_csv",
            ),
            path(
                "<path:object_id>/export-csv/",
                view(self.export_csv_view),
                name="templates_app_lookuptable_export_csv",
            ),
            *super().get_urls(),
        ]

    def import_csv_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        table = get_object_or_404(LookupTable, pk=object_id)
        if not self.has_change_permission(request, table):
            raise PermissionDenied
        form = LookupCsvImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                count = services.import_lookup_csv(
                    table, form.cleaned_data["file"].read(), replace=form.cleaned_data["replace"]
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                messages.success(request, f"Imported {count} rows into {table}.")
                return HttpResponseRedirect(
                    reverse("admin:templates_app_lookuptable_change", args=[table.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": table,
            "title": f"Import CSV into {table}",
            "form": form,
        }
        return TemplateResponse(request, "admin/templates_app/lookuptable/import_csv.html", context)

    def export_csv_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        table = get_object_or_404(LookupTable, pk=object_id)
        if not self.has_view_or_change_permission(request, table):
            raise PermissionDenied
        return lookup_csv_response(table)
