"""A Linux-biased version fails on Windows shells exactly as the shell would."""
from __future__ import annotations

from training.simulator import ReferenceResponder, SimulationConfig, SingleVersion, simulate


def error_rates_by_os(result):
    calls: dict[str, list[int]] = {}
    kinds: dict[str, set] = {}
    for e in result.events:
        if e["type"] == "tool.call" and e["payload"]["tool"] == "shell":
            os = e["client"]["os"]
            calls.setdefault(os, [0, 0])
            calls[os][0] += 1
            if e["payload"]["status"] == "error":
                calls[os][1] += 1
                kinds.setdefault(os, set()).add(e["payload"]["error_kind"])
    return {os: errors / n for os, (n, errors) in calls.items()}, kinds


def test_linux_biased_version_gets_invalid_for_shell_errors_on_windows_only():
    biased = ReferenceResponder({"linux-biased": (("linux_biased", 1.0),), "good": (("good", 1.0),)})
    config = SimulationConfig(sessions=80, seed=3)
    bad = simulate(config, responder=biased, assigner=SingleVersion("linux-biased"))
    rates, kinds = error_rates_by_os(bad)
    assert rates["windows"] > 0.5
    assert "invalid_for_shell" in kinds["windows"]
    assert rates["windows"] > 5 * max(rates.get("linux", 0), rates.get("macos", 0), 0.01)
    failed = [e for e in bad.events if e["type"] == "tool.call" and e["payload"].get("error_kind") == "invalid_for_shell"]
    assert {e["client"]["shell"] for e in failed} <= {"cmd", "powershell"}
    assert 9009 in {e["payload"]["exit_code"] for e in failed if e["client"]["shell"] == "cmd"}  # "is not recognized"

    good = simulate(config, responder=biased, assigner=SingleVersion("good"))
    good_rates, _ = error_rates_by_os(good)
    assert good_rates["windows"] < 0.05
    assert good.truth["good"]["tool_call_error_rate"] < bad.truth["linux-biased"]["tool_call_error_rate"]
    assert good.truth["good"]["task_success_rate"] > bad.truth["linux-biased"]["task_success_rate"]


def test_default_versions_differ_the_way_the_story_says(two_versions):
    v1, v2 = two_versions.truth["v1"], two_versions.truth["v2"]
    assert v2["tool_call_error_rate"] < v1["tool_call_error_rate"]
    assert v2["task_success_rate"] > v1["task_success_rate"]
    assert v1["tool_call_error_rate_by_shell"]["powershell"] > v1["tool_call_error_rate_by_shell"]["bash"]
