"""``manage.py simulate``: local app by default, or any deployment with --url/--api-key."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from telemetry.models import Event, Organization
from telemetry.services import api_key_create, organization_get_or_create

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("simulate", *args, "--no-progress", stdout=out)
    return out.getvalue().strip().splitlines()


def test_json_last_line_is_the_ground_truth_and_the_server_agrees(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # no var/policies/v0 here: the reference responder is the default
    lines = run("--sessions", "25", "--seed", "3", "--versions", "v1,v2", "--otlp", "--check", "--json")
    assert lines[0].startswith("responder: reference responder")
    result = json.loads(lines[-1])
    assert result["check"] == {"equal": True, "mismatches": []}
    assert set(result["ground_truth"]) == {"v1", "v2"}
    assert result["config"]["seed"] == 3 and result["config"]["otlp"] is True
    assert Event.objects.filter(org__slug="sim").count() == result["events_sent"]
    assert result["ground_truth"]["v1"]["code_retention"].keys() == {"30s", "2m", "5m", "10m", "1h"}


def test_same_seed_prints_the_same_truth(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = json.loads(run("--sessions", "10", "--seed", "9", "--org", "a", "--json")[-1])
    second = json.loads(run("--sessions", "10", "--seed", "9", "--org", "b", "--json")[-1])
    assert first["ground_truth"] == second["ground_truth"]


def test_targets_any_deployment_with_url_and_key(live_server, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    org = organization_get_or_create(slug="remote")
    lines = run("--sessions", "8", "--url", live_server.url, "--api-key", api_key_create(org=org), "--check", "--reference")
    assert any("summary endpoint equals the ground truth" in line for line in lines)
    assert Event.objects.filter(org=org).exists()
    assert not Organization.objects.filter(slug="sim").exists()


def test_human_table_and_argument_errors(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    lines = run("--sessions", "5", "--reference")
    assert any(line.startswith("version") for line in lines)
    with pytest.raises(CommandError, match="--url and --api-key"):
        run("--url", "http://127.0.0.1:9")
    with pytest.raises(CommandError, match="no Hugging Face checkpoint"):
        run("--sessions", "2", "--policy", str(tmp_path / "missing"))
