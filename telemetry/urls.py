from django.urls import path

from telemetry import api, api_otlp

urlpatterns = [
    path("api/v1/events", api.EventsIngestApi.as_view(), name="events-ingest"),
    path("api/v1/metrics/summary", api.MetricsSummaryApi.as_view(), name="metrics-summary"),
    path("v1/logs", api_otlp.OtlpLogsApi.as_view(), name="otlp-logs"),
    path("v1/metrics", api_otlp.OtlpMetricsApi.as_view(), name="otlp-metrics"),
    path("v1/traces", api_otlp.OtlpTracesApi.as_view(), name="otlp-traces"),
    path("api/schema/events-v1.json", api.EventSchemaApi.as_view(), name="event-schema"),
]
