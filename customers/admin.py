from django.contrib import admin

from .models import Customer, Order


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "reference_id", "contact_email", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "reference_id", "contact_email"]
    readonly_fields = ["public_id", "created_at", "updated_at"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["reference_id", "customer", "status", "updated_at"]
    list_filter = ["status", "customer"]
    list_select_related = ["customer"]
    search_fields = ["reference_id", "customer__name", "customer__reference_id"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    autocomplete_fields = ["customer"]
