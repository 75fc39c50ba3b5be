"""``manage.py attack_rewarder`` prints the table and stores a report."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rewards.core.detectors import DETECTOR_KINDS
from rewards.hacking import hacking_report_series
from rewards.models import HackingReport


@pytest.mark.django_db
def test_command_reports_and_stores(capsys):
    out = StringIO()
    call_command("attack_rewarder", "--tasks", "3", "--fail-under", stdout=out)
    text = out.getvalue()
    for kind in DETECTOR_KINDS:
        assert kind in text
    report = HackingReport.objects.get()
    assert report.passed
    assert set(report.kinds) == set(DETECTOR_KINDS)
    assert all(row["catch_rate"] >= 0.95 and row["false_positive_rate"] <= 0.02 for row in report.kinds.values())
    [series] = hacking_report_series()
    assert series["kinds"] == report.kinds


@pytest.mark.django_db
def test_command_rejects_too_few_tasks():
    with pytest.raises(CommandError, match="at least 3"):
        call_command("attack_rewarder", "--tasks", "1")
