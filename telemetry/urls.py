from django.urls import path

from telemetry import api

urlpatterns = [
    path("api/v1/events", api.EventsIngestApi.as_view(), name="events-ingest"),
    path("api/v1/metrics/summary", api.MetricsSummaryApi.as_view(), name="metrics-summary"),
    path("api/schema/events-v1.json", api.EventSchemaApi.as_view(), name="event-schema"),
]
