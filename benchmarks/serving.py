"""Serving benchmark for the local vLLM stand-in, all ratios measured in one run.

    .venv/bin/python manage.py bootstrap_policy          # once: var/policies/v0
    .venv/bin/python benchmarks/serving.py [--policy var/policies/v0] [--prompts 32]

1. Batching: ``policy_generate`` on N eval prompts one at a time vs in one batch
   (same greedy outputs; prints the throughput ratio).
2. HTTP overhead: the same single-prompt generations through ``VLLMClient`` ->
   ``/v1/chat/completions`` vs direct calls (latency ratio; usage tokens must match).
3. Versions: a LoRA adapter loaded at runtime (merged into a private copy of the weights)
   vs the base model, by name over HTTP (p50 seconds per completion token ratio; ~1 is the
   design goal, since outputs differ in length), plus the
   load and unload times.

Results are printed and written to ``artifacts/benchmarks/serving.json``.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from training.environment import task_catalog  # noqa: E402
from training.policy import chat_prompt, policy_generate, policy_load, task_messages  # noqa: E402
from training.serving.local_server import policy_server_create  # noqa: E402
from training.serving.vllm_client import VLLMClient  # noqa: E402

MAX_TOKENS = 48


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def _lora_adapter(policy: Path, out: Path) -> Path:
    """A rank-8 adapter on every attention projection, with non-trivial weights."""
    from peft import LoraConfig, get_peft_model

    model, _ = policy_load(policy)
    torch.manual_seed(0)
    peft_model = get_peft_model(
        copy.deepcopy(model),
        LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], init_lora_weights=False),
    )
    peft_model.save_pretrained(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=str(ROOT / "var" / "policies" / "v0"))
    parser.add_argument("--prompts", type=int, default=32)
    args = parser.parse_args()
    policy = Path(args.policy)
    if not (policy / "config.json").is_file():
        sys.exit(f"no policy at {policy}: run `manage.py bootstrap_policy` first")

    tasks = task_catalog(split="eval")[: args.prompts]
    messages = [task_messages(task) for task in tasks]
    model, tokenizer = policy_load(policy)
    prompts = [chat_prompt(tokenizer, m) for m in messages]

    singles, single_s = _timed(lambda: [policy_generate(model, tokenizer, [p], max_new_tokens=MAX_TOKENS)[0] for p in prompts])
    batched, batch_s = _timed(lambda: policy_generate(model, tokenizer, prompts, max_new_tokens=MAX_TOKENS))
    same = sum(a.token_ids == b.token_ids for a, b in zip(singles, batched))

    results: dict[str, object] = {
        "policy": str(policy),
        "prompts": len(prompts),
        "max_tokens": MAX_TOKENS,
        "batching": {
            "one_at_a_time_s": round(single_s, 3),
            "batched_s": round(batch_s, 3),
            "speedup": round(single_s / batch_s, 2),
            "identical_outputs": f"{same}/{len(prompts)}",
        },
    }

    with tempfile.TemporaryDirectory() as tmp, policy_server_create(policy, served_model_name="v0") as server:
        client = VLLMClient(server.url)
        client.chat("v0", messages[0], max_tokens=4, temperature=0)  # warm-up
        http = []
        for m, direct in zip(messages, singles):
            result, seconds = _timed(lambda: client.chat("v0", m, max_tokens=MAX_TOKENS, temperature=0))
            assert result.usage.completion_tokens == direct.completion_tokens, "HTTP and direct outputs differ"
            http.append(seconds)
        adapter = _lora_adapter(policy, Path(tmp) / "lora")
        _, load_s = _timed(lambda: client.load_lora_adapter("v1-lora", str(adapter)))
        base_lat, lora_lat = [], []  # seconds per completion token: outputs differ in length
        for m in messages:
            for name, sink in (("v0", base_lat), ("v1-lora", lora_lat)):
                result, seconds = _timed(lambda: client.chat(name, m, max_tokens=MAX_TOKENS, temperature=0))
                sink.append(seconds / result.usage.completion_tokens)
        _, unload_s = _timed(lambda: client.unload_lora_adapter("v1-lora"))

    direct_mean = single_s / len(prompts)
    results["http_overhead"] = {
        "direct_mean_s": round(direct_mean, 4),
        "http_mean_s": round(statistics.mean(http), 4),
        "ratio": round(statistics.mean(http) / direct_mean, 2),
    }
    results["lora_version"] = {
        "load_s": round(load_s, 3),
        "unload_s": round(unload_s, 4),
        "base_p50_s_per_token": round(statistics.median(base_lat), 5),
        "lora_p50_s_per_token": round(statistics.median(lora_lat), 5),
        "ratio": round(statistics.median(lora_lat) / statistics.median(base_lat), 2),
    }
    print(json.dumps(results, indent=2))
    out = ROOT / "artifacts" / "benchmarks" / "serving.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
