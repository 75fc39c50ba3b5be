"""Metrics computed by brute force from the raw events a client sent (the test oracle)."""
from __future__ import annotations

from collections import defaultdict

from telemetry.metrics import retention_checkpoint

LABELS = {30: "30s", 120: "2m", 300: "5m", 600: "10m", 3600: "1h"}


def ground_truth(events: list[dict]) -> dict[str, dict]:
    by_version: dict[str, list[dict]] = defaultdict(list)
    for event in {e["event_id"]: e for e in events}.values():
        by_version[event["model"]["version"]].append(event)
    truth = {}
    for version, evs in by_version.items():
        tool = [e for e in evs if e["type"] == "tool.call"]
        accepted = sum(e["type"] == "suggestion.accepted" for e in evs)
        rejected = sum(e["type"] == "suggestion.rejected" for e in evs)
        finished = {e["task_id"] for e in evs if e["type"] == "task.finished"}
        task_tokens = defaultdict(int)
        for e in evs:
            if e["type"] == "llm.usage" and e.get("task_id") in finished:
                p = e["payload"]
                task_tokens[e["task_id"]] += p["input_tokens"] + p["output_tokens"] + p.get("cache_read_tokens", 0) + p.get("cache_write_tokens", 0)
        retention = {}
        for label in LABELS.values():
            checks = [e["payload"] for e in evs if e["type"] == "code.retention" and LABELS.get(retention_checkpoint(e["payload"]["elapsed_s"])) == label]
            total = sum(p["total_chars"] for p in checks)
            retention[label] = sum(p["retained_chars"] for p in checks) / total if total else None
        truth[version] = {
            "events": len(evs),
            "tool_call_error_rate": sum(e["payload"]["status"] == "error" for e in tool) / len(tool) if tool else None,
            "acceptance_rate": accepted / (accepted + rejected) if accepted + rejected else None,
            "tokens_per_task": sum(task_tokens[t] for t in finished) / len(finished) if finished else None,
            "code_retention": retention,
        }
    return truth
