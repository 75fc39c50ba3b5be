from django.urls import path

from rewards import api

urlpatterns = [
    path("api/v1/rewards/score", api.RewardsScoreApi.as_view(), name="rewards-score"),
    path("get_reward", api.OpenRlhfRewardApi.as_view(), name="openrlhf-get-reward"),
]
