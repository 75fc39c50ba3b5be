"""The Claude Code OTLP encoding maps back, through Flywheel's own OTLP mapping, to what the
ground truth assumes is stored."""
from __future__ import annotations

from telemetry import otlp
from training.simulator import ReferenceResponder, SimulationConfig, SingleVersion, simulate
from training.simulator.claude_code import ERROR_REPORTS, claude_code_export, claude_code_stored, split_for_claude_code


def mapped(events):
    body = claude_code_export(events).SerializeToString()
    result = otlp.logs_map(otlp.logs_decode(body, "protobuf"))
    assert (result.rejected, result.errors, result.ignored) == (0, [], 0)
    return result.events


def test_simulated_claude_code_sessions_map_to_the_expected_stored_events(two_versions):
    claude = [e for e in two_versions.events if e["client"]["ide"] == "claude-code"]
    carried, rest = split_for_claude_code(claude)
    assert carried and rest
    assert {e["type"] for e in carried} >= {"llm.usage", "tool.call", "suggestion.accepted"}
    assert mapped(carried) == [claude_code_stored(e) for e in carried]
    assert all(e["payload"]["lines"] == 0 for e in map(claude_code_stored, carried) if e["type"] == "suggestion.accepted")


def test_every_tool_failure_kind_keeps_its_kind_through_claude_codes_wording(two_versions):
    call = next(e for e in two_versions.events if e["type"] == "tool.call")
    events = []
    for n, kind in enumerate(ERROR_REPORTS):
        payload = {**call["payload"], "status": "error", "error_kind": kind, "exit_code": 1, "call_id": f"c{n}"}
        events.append({**call, "event_id": f"00000000-0000-4000-8000-{n:012d}", "payload": payload})
    assert [e["payload"]["error_kind"] for e in mapped(events)] == list(ERROR_REPORTS)


def test_otlp_flag_only_changes_the_transport_of_claude_code_users():
    config = dict(sessions=60, seed=8)
    responder = ReferenceResponder()
    plain = simulate(SimulationConfig(**config), responder=responder, assigner=SingleVersion("v1"))
    sent = []
    via_otlp = simulate(SimulationConfig(**config, otlp=True), responder=responder, assigner=SingleVersion("v1"),
                        sink=lambda record, json_events, otlp_events: sent.append((record.plan.profile.ide, len(otlp_events))))
    assert plain.events == via_otlp.events
    assert via_otlp.events_otlp > 0 and plain.events_otlp == 0
    assert all(n == 0 for ide, n in sent if ide != "claude-code")
    # Claude Code reports no edit sizes: only tokens per accepted line may differ
    a, b = plain.truth["v1"], via_otlp.truth["v1"]
    assert {k for k in a if a[k] != b[k]} <= {"tokens_per_accepted_line", "tool_call_error_rate_by_shell", "tool_errors_by_kind"}
    assert a["tool_call_error_rate"] == b["tool_call_error_rate"] and a["code_retention"] == b["code_retention"]
