from django.urls import path

from training import api, api_assignment

urlpatterns = [
    path("api/v1/assignment", api_assignment.AssignmentApi.as_view(), name="assignment"),
    path("api/v1/training/runs", api.RunListApi.as_view(), name="training-runs"),
    path("api/v1/training/runs/<uuid:run_id>", api.RunDetailApi.as_view(), name="training-run"),
    path("api/v1/training/runs/<uuid:run_id>/report", api.RunReportApi.as_view(), name="training-run-report"),
    path("api/v1/training/runs/<uuid:run_id>/stop", api.RunStopApi.as_view(), name="training-run-stop"),
]
