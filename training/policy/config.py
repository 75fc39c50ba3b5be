"""Typed configs for the demo policy: its architecture, and the bootstrap (SFT) run.

Pure Python: no Django import. Every field is documented where it is declared.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Flavors of the environment's reference responses that the base corpus may contain.
# Hack flavors are deliberately absent: v0 must not learn to cheat, only to be sloppy.
CORPUS_FLAVORS: tuple[str, ...] = ("good", "linux_biased", "verbose", "reimplement")
RENAME_WORDS: tuple[str, ...] = ("vocabulary", "syllables")


@dataclass(frozen=True)
class PolicyArchitecture:
    """Shape of the causal LM (a standard ``LlamaForCausalLM``), sized for 2 CPU cores."""

    vocab_size: int = 2048
    """Byte-level BPE vocabulary size, special tokens included (the trainer may stop short)."""
    hidden_size: int = 128
    """Width of the residual stream."""
    intermediate_size: int = 384
    """Width of the SwiGLU MLP."""
    num_hidden_layers: int = 4
    """Transformer blocks."""
    num_attention_heads: int = 4
    """Query heads; ``hidden_size`` must be divisible by it."""
    num_key_value_heads: int = 4
    """Key/value heads (== query heads: plain multi-head attention, no GQA)."""
    max_position_embeddings: int = 512
    """Longest sequence (prompt + completion) the model is trained and served for."""
    rope_theta: float = 10_000.0
    """RoPE base frequency."""
    tie_word_embeddings: bool = True
    """Share input embedding and LM head: a third of the parameters at this size."""

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("hidden_size must be divisible by num_attention_heads")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be divisible by num_key_value_heads")


@dataclass(frozen=True)
class CorpusMix:
    """How the deliberately imperfect SFT corpus picks a reference-response flavor per example.

    Terminal tasks on a Windows shell are where the reference product's model was weakest,
    so v0 is made weak there on purpose: most of those examples use Linux commands.
    Everywhere else the flavor is drawn from ``general`` (weights, normalised).
    """

    windows_linux_biased: float = 0.7
    """Share of Windows-shell terminal examples answered with Linux commands."""
    general: tuple[tuple[str, float], ...] = (
        ("good", 0.4),
        ("linux_biased", 0.3),
        ("verbose", 0.15),
        ("reimplement", 0.15),
    )
    """(flavor, weight) for every other example; ``linux_biased`` falls back to ``good``
    where the environment has no Linux bias to express (e.g. already a POSIX shell)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.windows_linux_biased <= 1.0:
            raise ValueError("windows_linux_biased must be in [0, 1]")
        for flavor, weight in self.general:
            if flavor not in CORPUS_FLAVORS:
                raise ValueError(f"flavor {flavor!r} is not allowed in the base corpus")
            if weight < 0:
                raise ValueError("flavor weights must be >= 0")
        if sum(weight for _, weight in self.general) <= 0:
            raise ValueError("at least one flavor weight must be positive")


@dataclass(frozen=True)
class BootstrapConfig:
    """One supervised run that produces the base policy v0 (``manage.py bootstrap_policy``)."""

    output_dir: str = "var/policies/v0"
    """Where the checkpoint (config, safetensors, tokenizer, flywheel_policy.json) is written."""
    version: str = "v0"
    """Version name recorded in ``flywheel_policy.json`` and used as the served model name."""
    seed: int = 0
    """Seeds the corpus flavor draws, the weight init and the batch order: same seed, same v0."""
    steps: int = 3000
    """Optimizer steps. Held-out greedy success measured at seed 0: 9.4% after 1,500 steps,
    29.7% after 3,000 (copying arguments from the prompt starts between the two)."""
    batch_size: int = 16
    """Sequences per step."""
    learning_rate: float = 5e-3
    """Peak AdamW learning rate (tiny models tolerate, and need, a large one)."""
    min_learning_rate: float = 5e-4
    """Floor of the cosine decay."""
    warmup_steps: int = 50
    """Linear warmup steps before the cosine decay."""
    weight_decay: float = 0.01
    """AdamW decoupled weight decay (not applied to norms and biases)."""
    grad_clip: float = 1.0
    """Max global gradient norm."""
    samples_per_task: int = 6
    """Corpus examples drawn per train task, each with its own flavor draw."""
    rename_share: float = 0.9
    """Share of terminal examples whose `backticked` arguments are renamed to fresh names
    (``rename_words``) in prompt and answer alike: the train split has ~2 argument values per (intent,
    shell), so without this a small model memorises answers instead of copying arguments."""
    rename_words: str = "vocabulary"
    """What renamed arguments are made of: "vocabulary", 1 to ``rename_max_words`` words drawn
    from the vocabulary of a tokenizer trained on the corpus renamed with syllables, or
    "syllables" (2-3 made-up syllables, like RL's task variants). Why: v0 copies the tokens it
    was trained to copy; trained on syllable names it copied a syllable name's first token at
    0.05 nats but a held-out argument's ("cache", "tests") at 5.5. Measured at seeds 0, 1, 2
    (with ``prompt_loss``, against syllables without it): the eval split's arguments' first
    token at 1.47 / 1.26 / 1.74 nats against 5.5 / 4.9 / 11.0, and held-out success (8 answers
    per task at 0.7) 30.4 / 26.0 / 24.2% against 18.8 / 25.7 / 7.9%. A name's later tokens are
    still rarely copied (6.9-7.4 nats, against 8.3-9.8)."""
    rename_max_words: int = 3
    """Most vocabulary words in one renamed piece. 2 to 5 words copied worse (seed 0, without
    ``prompt_loss``: held-out first-token NLL 1.72 against 0.67 with 1 to 3)."""
    prompt_loss: bool = True
    """Also train on the prompt's tokens (a language-model loss on the whole sequence), not only
    the answer's: the prompt is most of the text a from-scratch model sees. Measured with
    vocabulary names at seed 0: held-out success 29.0% with it, 25.1% without."""
    max_seq_len: int = 384
    """Training sequences longer than this are dropped (they would be truncated mid-answer)."""
    threads: int = 1
    """``torch.set_num_threads``. 1, not 2, on the 2-core target: measured on a shared
    machine, 2 OpenMP threads ran a step 5x SLOWER than 1 once other processes competed for
    the cores (spin-waiting), while on an idle machine 2 threads gain well under 2x."""
    device: str = "cpu"
    """Torch device the SFT loop runs on ("cpu", "cuda"); the checkpoint is the same either way."""
    mix: CorpusMix = field(default_factory=CorpusMix)
    """Flavor mix of the deliberately imperfect corpus."""
    architecture: PolicyArchitecture = field(default_factory=PolicyArchitecture)
    """Model shape."""

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.samples_per_task < 1:
            raise ValueError("steps, batch_size and samples_per_task must be >= 1")
        if self.rename_words not in RENAME_WORDS:
            raise ValueError(f"rename_words must be one of {RENAME_WORDS}")
        if self.rename_max_words < 1:
            raise ValueError("rename_max_words must be >= 1")
        if self.max_seq_len > self.architecture.max_position_embeddings:
            raise ValueError("max_seq_len exceeds the model's max_position_embeddings")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return asdict(self)
