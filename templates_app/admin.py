from django.contrib import admin

from .models import LookupEntry, LookupTable, Template


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "format", "is_active", "updated_at"]
    list_filter = ["kind", "format", "is_active"]
    search_fields = ["name", "body", "subject"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "format", "is_active"]}),
        ("Content", {"fields": ["subject", "body", "html_body"]}),
    ]


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
