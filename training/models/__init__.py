"""Training app models, one module per area (each engineer's area in its own module)."""
from training.models.deployments import CanaryDecision, ModelVersion, Rollout

__all__ = ["CanaryDecision", "ModelVersion", "Rollout"]
