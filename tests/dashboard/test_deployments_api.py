"""``GET /dashboard/api/deployments``: the registry of the caller's organization only."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from telemetry.services import organization_get_or_create
from tests.factories import api_client_for
from training.services.deployments import model_version_register, model_version_serve_initial

pytestmark = pytest.mark.django_db


def test_deployments_json_is_scoped_to_the_org(tmp_path):
    artifact = tmp_path / "ckpt"
    artifact.mkdir()
    (artifact / "config.json").write_text("{}")
    acme = organization_get_or_create(slug="acme", name="Acme")
    globex = organization_get_or_create(slug="globex", name="Globex")
    v0 = model_version_serve_initial(org=acme, name="v0", artifact=str(artifact))
    model_version_register(org=acme, name="v1", artifact=str(artifact), parent=v0, rl_run_id="run-1", reward_model_version="rm-1")
    model_version_serve_initial(org=globex, name="secret", artifact=str(artifact))

    body = api_client_for(acme).get("/dashboard/api/deployments").json()
    assert body["organization"] == "acme"
    assert [(v["name"], v["state"], v["parent"], v["rl_run_id"]) for v in body["versions"]] == [
        ("v0", "serving", None, ""), ("v1", "candidate", "v0", "run-1")]
    assert body["rollouts"] == [] and body["traffic"] == []
    assert APIClient().get("/dashboard/api/deployments").status_code in (401, 403)
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    assert "/dashboard/api/deployments" in schema["paths"]
