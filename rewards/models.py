from django.db import models

# --- Reward-hacking guard (scoring engineer): one row per attack_rewarder run ------------------


class HackingReport(models.Model):
    """The rewarder measured against the attacker: per kind, catch rate on attacks and
    false-positive rate on honest trajectories (``kinds``), and catch rate per disguise."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    honest_count = models.PositiveIntegerField()
    attack_count = models.PositiveIntegerField()
    # {kind: {"attacks", "caught", "catch_rate", "honest", "false_positives", "false_positive_rate"}}
    kinds = models.JSONField()
    # {disguise: {"attacks", "caught", "catch_rate"}}
    disguises = models.JSONField()
    passed = models.BooleanField()
    min_catch_rate = models.FloatField()
    max_false_positive_rate = models.FloatField()
    duration_s = models.FloatField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"hacking report {self.created_at:%Y-%m-%d %H:%M} ({'passed' if self.passed else 'failed'})"
