"""The service's scorer configuration and its reward model, read once per request."""
from __future__ import annotations

from django.conf import settings

from rewards.core.scoring import PreferenceModel, ScoringConfig
from rewards.selectors import reward_model_active

# 256 trajectories of long agent transcripts fit; one text is capped at 200,000 characters.
MAX_BODY_BYTES = getattr(settings, "REWARDS_MAX_BODY_BYTES", 32 * 1024 * 1024)
# OpenRLHF sends a whole micro-batch of rollouts per request.
MAX_OPENRLHF_BATCH = getattr(settings, "REWARDS_MAX_OPENRLHF_BATCH", 1024)


def scoring_config() -> ScoringConfig:
    """``ScoringConfig`` with the overrides in ``settings.REWARDS_SCORING`` (field -> value)."""
    return ScoringConfig(**getattr(settings, "REWARDS_SCORING", {}))


def active_preference_model() -> PreferenceModel | None:
    """The active reward model (loaded once per process, swapped on promotion), or None while
    no model is promoted: the preference component is then reported as unavailable."""
    return reward_model_active()
