"""``manage.py serve_policy`` as an operator runs it: a real process on an ephemeral port."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from training.serving.vllm_client import VLLMClient

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_serve_policy_serves_over_http(tiny_policy: Path) -> None:
    command = [sys.executable, "manage.py", "serve_policy", "--policy", str(tiny_policy), "--port", "0",
               "--served-model-name", "v0"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"serving v0 at (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        with VLLMClient(match.group(1)) as client:
            client.wait_until_healthy(timeout_s=30)
            assert client.model_ids() == ["v0"]
            result = client.chat("v0", [{"role": "user", "content": "Windows, cmd.exe. Delete the build directory."}], max_tokens=8, temperature=0)
            assert result.usage.completion_tokens >= 1
    finally:
        process.terminate()
        process.wait(timeout=30)
