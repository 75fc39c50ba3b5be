"""The real agent CLIs export their own telemetry to Flywheel, and Flywheel stores it right.

Each case is one non-interactive run of a real CLI (Gemini CLI, Claude Code, Qwen Code,
from npm at the versions of scripts/agent_clis/package-lock.json) against a local stand-in
for its model API that answers one shell tool call, then text. The CLI exports OTLP (logs,
metrics, traces; chunked where its exporter chunks) to Flywheel served for real: Gemini CLI
to the embedded default's server, Qwen Code to gunicorn, Claude Code to each in turn.
Asserted: the stored tool call with its outcome as the CLI reported it, the tool-call error
rate, and every token the stand-in reported.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from telemetry.models import Event
from telemetry.selectors import metrics_summary
from telemetry.services import api_key_create, organization_get_or_create
from tests.telemetry.agent_clis import AGENT_CLIS, CLIS_DIR, Telemetry, installed_versions
from tests.telemetry.model_apis import ModelApiServer, model_api_server

pytestmark = pytest.mark.django_db(transaction=True)

PINNED = {"@google/gemini-cli": "0.61.0", "@anthropic-ai/claude-code": "2.1.332", "@qwen-code/qwen-code": "0.24.4"}
SUCCEEDS = "echo flywheel-ok"
UNKNOWN_COMMAND = "flywheel-no-such-command --now"  # exit 127: the shell did not know it
FAILS = "ls /nonexistent-flywheel-dir"  # exit 2


@pytest.fixture(scope="session")
def agent_clis() -> dict[str, str]:
    versions = installed_versions()
    if versions != PINNED:
        pytest.fail(
            f"the agent CLIs in {CLIS_DIR} are {versions or 'not installed'}, not {PINNED}: run `make install` "
            "(or `bash scripts/install_agent_clis.sh`).", pytrace=False,
        )
    return versions


@pytest.fixture(scope="module")
def model_api() -> Iterator[ModelApiServer]:
    with model_api_server(SUCCEEDS) as server:
        yield server


# (cli, server, command, expected tool.call outcome: status, error_kind, exit_code)
CASES = [
    pytest.param("gemini-cli", "embedded_server", SUCCEEDS, ("success", None, None), id="gemini-cli-succeeds-embedded"),
    # Gemini CLI says "success": true for a command that exited 127; metadata says exitCode 127, isError.
    pytest.param("gemini-cli", "embedded_server", UNKNOWN_COMMAND, ("error", "invalid_for_shell", 127), id="gemini-cli-unknown-command-embedded"),
    pytest.param("qwen-code", "gunicorn_server", SUCCEEDS, ("success", None, None), id="qwen-code-succeeds-gunicorn"),
    # Qwen Code: success false, error_type shell_execute_error, "Exit Code: 2" in the error text.
    pytest.param("qwen-code", "gunicorn_server", FAILS, ("error", "nonzero_exit", 2), id="qwen-code-fails-gunicorn"),
    pytest.param("claude-code", "gunicorn_server", SUCCEEDS, ("success", None, None), id="claude-code-succeeds-gunicorn"),
    # Claude Code: success "false", error_type ShellError; it reports no exit code.
    pytest.param("claude-code", "embedded_server", UNKNOWN_COMMAND, ("error", "nonzero_exit", None), id="claude-code-unknown-command-embedded"),
]


@pytest.mark.parametrize("cli_name, server_fixture, command, outcome", CASES)
def test_cli_telemetry_is_stored(request, agent_clis, model_api, tmp_path, cli_name, server_fixture, command, outcome):
    cli = AGENT_CLIS[cli_name]
    server_url = request.getfixturevalue(server_fixture)
    org = organization_get_or_create(slug=request.node.callspec.id[:50])
    telemetry = Telemetry(url=server_url, api_key=api_key_create(org=org), model_version=f"{cli_name}-under-test")
    model_api.script(command)

    run = cli.run(workdir=tmp_path / "work", model_api=model_api.url, telemetry=telemetry)
    assert run.returncode == 0, f"{cli_name} exited {run.returncode}:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    served = model_api.served
    assert served.tool_calls == 1 and served.texts >= 1, served

    # The one shell call, its outcome exactly as the CLI reported it.
    calls = list(Event.objects.filter(org=org, type="tool.call"))
    assert len(calls) == 1, [c.payload for c in calls]
    call = calls[0]
    status, error_kind, exit_code = outcome
    assert (call.payload["tool"], call.payload["status"]) == (cli.shell_tool, status)
    assert call.payload.get("error_kind") == error_kind
    assert call.payload.get("exit_code") == exit_code
    assert (call.ide, call.model_version) == (cli.name, telemetry.model_version)

    # One llm.usage per model request, with every token the stand-in reported.
    usage = [e.payload for e in Event.objects.filter(org=org, type="llm.usage")]
    assert len(usage) == served.tool_calls + served.texts
    totals = tuple(sum(p.get(name, 0) for p in usage) for name in ("input_tokens", "output_tokens", "cache_read_tokens"))
    assert totals == (served.input_tokens, served.output_tokens, served.cached_tokens)

    # The headline metrics: the tool-call error rate and the tokens.
    (row,) = metrics_summary(org=org)
    assert (row["model_version"], row["tool_calls"], row["tool_errors"]) == (telemetry.model_version, 1, int(status == "error"))
    assert row["tool_call_error_rate"] == (1.0 if status == "error" else 0.0)
    assert row["tokens_total"] == served.input_tokens + served.output_tokens + served.cached_tokens
