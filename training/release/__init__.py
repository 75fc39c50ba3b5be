"""Releasing a model version: the evaluation gate, deploy backends and the canary judge.

Pure Python (no Django): functions over evaluation reports, per-session metrics and HTTP
servers. The Django side (registry, assignment, records) is in ``training.services`` and
``training.selectors``.
"""
