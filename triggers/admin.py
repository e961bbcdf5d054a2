from django.contrib import admin
from django.db import models

from .models import Trigger


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "customer",
        "event",
        "delivery_method",
        "destination",
        "template",
        "retry_on_failure",
        "is_active",
    ]
    list_filter = ["is_active", "event", "delivery_method", "customer"]
    list_select_related = ["customer", "template"]
    search_fields = ["name", "customer__name", "url", "email_recipients"]
    autocomplete_fields = ["customer", "template"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["customer", "name", "event", "template", "is_active"]}),
        (
            "Delivery",
            {
                "fields": [
                    "delivery_method",
                    ("url", "http_method"),
                    "email_recipients",
                    "retry_on_failure",
                ]
            },
        ),
    ]

    @admin.display(description="destination")
    def destination(self, trigger: Trigger) -> str:
        return (
            trigger.url
            if trigger.delivery_method == trigger.DeliveryMethod.WEBHOOK
            else (trigger.email_recipients)
        )
