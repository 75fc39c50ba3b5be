"""The one typed config of an RL run (GRPO with the DAPO refinements).

Pure Python: no Django import. Every field is documented where it is declared. A config
round-trips through JSON (``rl_config_to_dict`` / ``rl_config_from_dict``), which is how the
Ray job receives it (``python -m training.rl.driver --config FILE``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

LOSS_AGGREGATIONS: tuple[str, ...] = ("token_mean", "sequence_mean")
REWARD_SOURCES: tuple[str, ...] = ("scorer", "environment", "http")
ROLLOUT_ENGINES: tuple[str, ...] = ("auto", "hf", "vllm")
TASK_KINDS: tuple[str, ...] = ("terminal", "code_edit", "multi_step")


@dataclass(frozen=True)
class LoraSettings:
    """Low-rank adapters (PEFT) instead of full fine-tuning."""

    rank: int = 8
    """Adapter rank r."""
    alpha: int = 16
    """Scaling numerator (the update is scaled by alpha / r)."""
    dropout: float = 0.0
    """Dropout on the adapter input (0 keeps rollouts and the learner's log-probs identical)."""
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    """Module names the adapters wrap (Llama naming)."""


@dataclass(frozen=True)
class RLConfig:
    """One GRPO/DAPO run: what to train, on what, with which rewards, for how long."""

    # --- what is trained -------------------------------------------------------------------
    policy_path: str = "var/policies/v0"
    """Directory of the starting policy: a Hugging Face causal-LM checkpoint (``training.policy``)."""
    output_dir: str = "var/rl/run"
    """Run directory: checkpoints go to ``<output_dir>/checkpoints/step-<n>``, the last one
    is also ``final`` when the run succeeds."""
    version: str = "rl"
    """Version name recorded in each checkpoint's ``flywheel_policy.json``."""
    lora: LoraSettings | None = None
    """LoRA adapters when set (checkpoints then hold the adapter alone); None = full fine-tuning."""

    # --- tasks -----------------------------------------------------------------------------
    task_split: str = "train"
    """Environment split the rollouts draw from (never "eval": held-out success is measured there)."""
    task_kinds: tuple[str, ...] = ("terminal",)
    """Task kinds in the pool (``training.environment.TASK_KINDS``)."""
    task_mix: tuple[tuple[str, float], ...] = ()
    """(kind, weight) sampling weights per kind; empty = uniform over the pool's tasks."""
    task_ids: tuple[str, ...] = ()
    """Restrict the pool to these task ids (empty = every task of the split and kinds)."""
    task_id_prefixes: tuple[str, ...] = ()
    """Restrict the pool to task ids starting with one of these (empty = no restriction)."""
    task_variants: bool = True
    """Give each group of a terminal or multi-step task a variant with freshly renamed
    arguments or directory (``training.environment.variants``), as the SFT corpus renames them:
    the train split has only a few argument values per intent and shell (and five directories),
    and without this RL teaches the policy those values instead of copying the prompt's, which
    the held-out split then punishes."""

    # --- GRPO / DAPO -----------------------------------------------------------------------
    steps: int = 50
    """Optimizer steps (one batch of groups each)."""
    group_size: int = 8
    """Responses sampled per prompt; advantages are relative within a group."""
    prompts_per_step: int = 8
    """Groups (prompts) per training batch, after dynamic sampling."""
    learning_rate: float = 1e-4
    """AdamW learning rate (constant)."""
    weight_decay: float = 0.0
    """AdamW decoupled weight decay."""
    grad_clip: float = 1.0
    """Max global gradient norm."""
    updates_per_batch: int = 1
    """Optimizer passes over each batch (>1 makes the importance ratio and clipping matter)."""
    clip_ratio_low: float = 0.2
    """epsilon_low: the ratio is clipped below at 1 - clip_ratio_low."""
    clip_ratio_high: float = 0.28
    """epsilon_high: the ratio is clipped above at 1 + clip_ratio_high (DAPO clip-higher)."""
    loss_aggregation: str = "token_mean"
    """"token_mean": every response token of the batch weighs the same (DAPO token-level loss);
    "sequence_mean": mean over each response, then over responses (GRPO's original)."""
    advantage_std_normalize: bool = True
    """Divide group-centred rewards by the group's standard deviation (GRPO); False = Dr. GRPO."""
    kl_coef: float = 0.0
    """Weight of the k3 KL estimate to the starting policy (0 = no KL term, DAPO's default)."""
    dynamic_sampling: bool = True
    """Drop groups whose rewards do not vary (zero advantage, no gradient) and sample more."""
    max_sampling_rounds: int = 3
    """Cap on rollout rounds per step when dynamic sampling keeps refilling the batch."""
    temperature: float = 1.0
    """Sampling temperature of the rollouts."""
    top_p: float = 1.0
    """Nucleus sampling mass of the rollouts."""
    max_new_tokens: int = 48
    """Longest response, in tokens."""
    overlong_buffer: int = 16
    """The last this-many tokens before ``max_new_tokens`` are the soft overlong zone."""
    overlong_penalty_factor: float = 1.0
    """Penalty at ``max_new_tokens``; it ramps linearly from 0 at the start of the buffer."""

    # --- curriculum ------------------------------------------------------------------------
    curriculum_window: int = 16
    """Most recent samples per task the curriculum judges a task on."""
    curriculum_min_samples: int = 16
    """A task is judged only once it has this many samples in its window."""
    curriculum_solved_rate: float = 1.0
    """Retire a task whose success rate over the window is >= this (always solved)."""
    curriculum_unsolved_rate: float = 0.0
    """Retire a task whose success rate over the window is <= this (never solved)."""

    # --- rewards ---------------------------------------------------------------------------
    reward_source: str = "scorer"
    """"scorer": the shared scorer in-process (``rewards.core.scoring`` when present, else
    the environment verifier); "environment": the environment's verifier; "http": Flywheel's
    reward service at ``reward_endpoint``."""
    reward_endpoint: str = ""
    """Base URL of Flywheel (``<url>/api/v1/rewards/score``) when ``reward_source`` is "http"."""
    reward_api_key: str = ""
    """Bearer key for the reward service (else the FLYWHEEL_API_KEY environment variable)."""
    success_key: str = "correctness"
    """Reward component whose value > 0.5 counts as "solved" for the curriculum."""

    # --- execution -------------------------------------------------------------------------
    seed: int = 0
    """Seeds task sampling, rollouts and adapter init: same seed, same run."""
    device: str = "cpu"
    """Device of the learner and the HF rollout workers ("cpu", "cuda"); on CUDA they share one GPU."""
    rollout_engine: str = "auto"
    """"hf": HF generate; "vllm": vLLM engines; "auto": vLLM when importable and a GPU is present."""
    rollout_workers: int = 1
    """Rollout Ray actors; groups of a round are split between them."""
    rollout_ahead: bool = False
    """Sample the next step's batch while the learner trains on this one, so rollouts and
    updates run at the same time (one step off-policy, as verl's one-step-off-policy
    recipe: the batch comes from the weights one update behind, and the importance ratio
    is taken against the learner's weights at the start of its update). The batch after a
    checkpoint is sampled on-policy, so a resumed run replays the same steps. False: sample,
    then train, strictly on-policy."""
    threads: int = 1
    """``torch.set_num_threads`` in every actor (1 on the shared 2-core target)."""
    checkpoint_every: int = 10
    """Save a checkpoint every this many steps (and always after the last)."""
    keep_checkpoints: int = 2
    """Newest step checkpoints kept on disk (older ones are deleted)."""
    eval_tasks: int = 0
    """Held-out tasks (eval split, same kinds and id prefixes) evaluated before and after
    training (0 = none)."""
    eval_samples: int = 1
    """Answers per held-out task: 1 is the greedy answer; more are sampled at
    ``eval_temperature``, a finer estimate when a run holds out only a few tasks."""
    eval_temperature: float = 1.0
    """Sampling temperature of the held-out answers when ``eval_samples`` > 1."""

    @property
    def eval_answer_temperature(self) -> float:
        """The held-out answers' temperature: 0 (greedy) for one answer per task, else ``eval_temperature``."""
        return self.eval_temperature if self.eval_samples > 1 else 0.0

    def __post_init__(self) -> None:
        _check(self.steps >= 1, "steps", "must be >= 1")
        _check(self.group_size >= 2, "group_size", "must be >= 2 (advantages are relative within a group)")
        _check(self.prompts_per_step >= 1, "prompts_per_step", "must be >= 1")
        _check(self.learning_rate > 0, "learning_rate", "must be > 0")
        _check(0 <= self.clip_ratio_low < 1, "clip_ratio_low", "must be in [0, 1)")
        _check(self.clip_ratio_high >= 0, "clip_ratio_high", "must be >= 0")
        _check(self.loss_aggregation in LOSS_AGGREGATIONS, "loss_aggregation", f"must be one of {LOSS_AGGREGATIONS}")
        _check(self.reward_source in REWARD_SOURCES, "reward_source", f"must be one of {REWARD_SOURCES}")
        _check(self.reward_source != "http" or bool(self.reward_endpoint), "reward_endpoint", "is required when reward_source is 'http'")
        _check(self.rollout_engine in ROLLOUT_ENGINES, "rollout_engine", f"must be one of {ROLLOUT_ENGINES}")
        _check(self.task_split in ("train", "eval"), "task_split", "must be 'train' or 'eval'")
        _check(bool(self.task_kinds) and all(k in TASK_KINDS for k in self.task_kinds), "task_kinds", f"must be a non-empty subset of {TASK_KINDS}")
        _check(self.max_new_tokens >= 1, "max_new_tokens", "must be >= 1")
        _check(0 <= self.overlong_buffer < self.max_new_tokens, "overlong_buffer", "must be in [0, max_new_tokens)")
        _check(self.max_sampling_rounds >= 1, "max_sampling_rounds", "must be >= 1")
        _check(self.rollout_workers >= 1, "rollout_workers", "must be >= 1")
        _check(self.device == "cpu" or self.device.startswith("cuda"), "device", "must be 'cpu' or 'cuda' ('cuda:N')")
        _check(self.checkpoint_every >= 1, "checkpoint_every", "must be >= 1")
        _check(self.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1")
        _check(self.updates_per_batch >= 1, "updates_per_batch", "must be >= 1")
        _check(self.temperature > 0, "temperature", "must be > 0 (rollouts sample)")
        _check(self.eval_tasks >= 0, "eval_tasks", "must be >= 0")
        _check(self.eval_samples >= 1, "eval_samples", "must be >= 1")
        _check(self.eval_temperature > 0, "eval_temperature", "must be > 0 (held-out answers beyond the first are sampled)")
        _check(0 <= self.curriculum_unsolved_rate < self.curriculum_solved_rate <= 1, "curriculum_solved_rate",
               "need 0 <= curriculum_unsolved_rate < curriculum_solved_rate <= 1")


class RLConfigError(ValueError):
    """A config value is invalid; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def _check(ok: bool, field_name: str, message: str) -> None:
    if not ok:
        raise RLConfigError(field_name, message)


def rl_config_to_dict(config: RLConfig) -> dict[str, Any]:
    """JSON-ready dict (tuples become lists)."""
    return asdict(config)


def rl_config_from_dict(data: dict[str, Any]) -> RLConfig:
    """Build a config from a JSON-like dict; unknown keys and bad values raise ``RLConfigError``."""
    if not isinstance(data, dict):
        raise RLConfigError("config", "must be a JSON object")
    known = {f.name: f for f in fields(RLConfig)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise RLConfigError(unknown[0], f"unknown field (known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name == "lora":
            values[name] = None if value in (None, False) else _lora_from(value)
        elif name == "task_mix":
            values[name] = tuple((str(kind), float(weight)) for kind, weight in (value.items() if isinstance(value, dict) else value))
        elif isinstance(value, list):
            values[name] = tuple(value)
        else:
            values[name] = value
    defaults = RLConfig.__dataclass_fields__
    for name, value in values.items():
        default = defaults[name].default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise RLConfigError(name, "must be true or false")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RLConfigError(name, "must be a number")
            if isinstance(default, int) and not float(value).is_integer():
                raise RLConfigError(name, "must be an integer")
            values[name] = type(default)(value)
        if isinstance(default, str) and not isinstance(value, str):
            raise RLConfigError(name, "must be a string")
    try:
        return RLConfig(**values)
    except TypeError as error:
        raise RLConfigError("config", str(error)) from None


def _lora_from(value: Any) -> LoraSettings:
    if value is True:
        return LoraSettings()
    if not isinstance(value, dict):
        raise RLConfigError("lora", "must be null, true or an object")
    unknown = sorted(set(value) - {f.name for f in fields(LoraSettings)})
    if unknown:
        raise RLConfigError(f"lora.{unknown[0]}", "unknown field")
    value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
    return LoraSettings(**value)


def rl_config_load(path: str | Path) -> RLConfig:
    """Read a JSON config file."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RLConfigError("config", f"file {path} does not exist") from None
    except json.JSONDecodeError as error:
        raise RLConfigError("config", f"{path} is not valid JSON: {error}") from None
    return rl_config_from_dict(data)


def rl_config_save(config: RLConfig, path: str | Path) -> Path:
    """Write ``config`` as JSON; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rl_config_to_dict(config), indent=2, sort_keys=True) + "\n")
    return out
