from django.contrib import admin

from training.models import RetrainSchedule, TrainingRun


@admin.register(RetrainSchedule)
class RetrainScheduleAdmin(admin.ModelAdmin):
    list_display = ("org", "enabled", "interval_s", "min_new_events", "min_new_pairs", "last_checked_at", "last_outcome")


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "step", "total_steps", "trigger", "dataset_snapshot_id", "created_at")
    readonly_fields = ("metrics", "logs_tail", "artifacts", "result", "report_token_hash")
