"""Training app models, one module per area (each engineer imports theirs here)."""
from training.models.runs import RetrainSchedule, TrainingRun  # noqa: F401
