from rest_framework import serializers

from .models import DeliveryAttempt, Postback


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        exclude = ["postback"]


class PostbackSerializer(serializers.ModelSerializer):
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Postback
        exclude = ["claimed_until", "enqueued_at"]
