from django.urls import path

from training import api

urlpatterns = [
    path("api/v1/assignment", api.AssignmentApi.as_view(), name="assignment"),
]
