"""Training app models, one module per area (each engineer imports theirs here)."""
from training.models.deployments import CanaryDecision, ModelVersion, Rollout  # noqa: F401
from training.models.runs import RetrainSchedule, TrainingRun  # noqa: F401
