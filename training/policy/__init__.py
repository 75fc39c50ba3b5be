"""The demo policy: a small Llama-architecture causal LM in plain Hugging Face format.

Pure Python (no Django). Public API:

- ``policy_load(path)`` / ``policy_save(model, tokenizer, path, metadata=)`` — any local HF checkpoint
- ``policy_generate(model, tokenizer, prompts, max_new_tokens=, temperature=, seed=)`` — batched, seeded
- ``task_messages(task)`` + ``chat_prompt(tokenizer, messages)`` — THE prompt format for a task
- ``policy_bootstrap(BootstrapConfig(...))`` — base policy v0 from the imperfect corpus
- ``policy_baseline(path)`` / ``policy_respond`` / ``evaluation_report`` — scores on a split
"""
from training.policy.bootstrap import BootstrapResult, policy_bootstrap
from training.policy.config import BootstrapConfig, CorpusMix, PolicyArchitecture
from training.policy.corpus import SFTExample, task_messages
from training.policy.evaluate import EvaluationReport, evaluation_report, policy_baseline, policy_respond
from training.policy.generate import Generation, policy_generate
from training.policy.model import policy_load, policy_metadata, policy_param_count, policy_save
from training.policy.tokenizer import chat_prompt

__all__ = [
    "BootstrapConfig",
    "BootstrapResult",
    "CorpusMix",
    "EvaluationReport",
    "Generation",
    "PolicyArchitecture",
    "SFTExample",
    "chat_prompt",
    "evaluation_report",
    "policy_baseline",
    "policy_bootstrap",
    "policy_generate",
    "policy_load",
    "policy_metadata",
    "policy_param_count",
    "policy_respond",
    "policy_save",
    "task_messages",
]
