"""A population of simulated IDE users that asks a policy for help and reports telemetry.

Pure Python (no Django), so it runs anywhere: against the local app, any Flywheel
deployment, or in-process in tests and benchmarks.

Users (``population``) have a realistic OS/shell/IDE/language mix (Windows about 35%, in
cmd.exe and PowerShell). Each session asks the model version its user is assigned to
(``VersionAssigner``: one version, a hash split, later a canary) for a few tasks from the
environment's catalog, in the user's OS/shell where the task kind has one. The answers come
from a ``PolicyResponder`` (a served model over HTTP, a policy checkpoint in-process, or the
environment's reference answers); ``training.environment.verify`` judges each one, and the
user reacts objectively (``reactions``): tool calls fail as the shell would make them fail,
code that compiles and runs is accepted, kept when its tests pass in the repo's style,
rewritten into the repo's style when not (partial retention), deleted when its tests fail.

Telemetry (``session``): per task ``llm.usage`` (tokens as the policy's tokenizer counts
them), a ``tool.call`` per tool call, ``suggestion.shown`` / ``accepted`` / ``rejected`` for
code, ``code.retention`` at 30 s, 2 min, 5 min, 10 min and 1 h after acceptance (counts, or
file content for the server to compare), ``task.finished`` and occasional ``feedback``.
Every event carries the model version. It is sent through the real ingestion endpoints
(``transport``: JSON, and OTLP logs the way Claude Code exports them, ``claude_code``), and
the ``truth`` module computes what ``GET /api/v1/metrics/summary`` must then report.

Deterministic: the same config and responder give the same events (ids included) and the
same ground truth.
"""
from training.simulator.assignment import HashSplit, ServedAssignment, SingleVersion, VersionAssigner
from training.simulator.population import UserProfile, population
from training.simulator.responders import (
    HttpPolicyResponder,
    LocalPolicyResponder,
    PolicyResponder,
    PolicyResponse,
    ReferenceResponder,
    ResponseRequest,
    SimpleTokenCounter,
)
from training.simulator.run import SimulationConfig, SimulationResult, simulate, truth_table
from training.simulator.transport import IngestRefused, TelemetrySender, summary_get
from training.simulator.truth import GroundTruth, SUMMARY_KEYS, ground_truth, summary_mismatches

__all__ = [
    "SUMMARY_KEYS",
    "ServedAssignment",
    "GroundTruth",
    "HashSplit",
    "HttpPolicyResponder",
    "IngestRefused",
    "LocalPolicyResponder",
    "PolicyResponder",
    "PolicyResponse",
    "ReferenceResponder",
    "ResponseRequest",
    "SimpleTokenCounter",
    "SimulationConfig",
    "SimulationResult",
    "SingleVersion",
    "TelemetrySender",
    "UserProfile",
    "VersionAssigner",
    "ground_truth",
    "population",
    "simulate",
    "summary_get",
    "summary_mismatches",
    "truth_table",
]
