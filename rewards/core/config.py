"""Typed configs of the rewards core: one dataclass per run, every field documented."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RETENTION_LABELS: tuple[str, ...] = ("30s", "2m", "5m", "10m", "1h")


@dataclass(frozen=True)
class ProductScoreWeights:
    """Weights of the product score's components (``product_score``); a missing fact adds 0.

    Each component is normalised to roughly [-1, 1] before weighting, so weights compare.
    """

    retention: tuple[tuple[str, float], ...] = (("30s", 0.1), ("2m", 0.15), ("5m", 0.2), ("10m", 0.25), ("1h", 0.3))
    """(checkpoint label, weight) of code retention (share of accepted characters still
    present T after acceptance, in [0, 1]); later checkpoints say more about real value."""
    accepted: float = 1.0
    """+1 accepted, -1 rejected (the user's immediate verdict on the suggestion)."""
    tool_errors: float = 0.75
    """Weight of minus the share of the completion's tool calls that failed (in [-1, 0])."""
    tokens: float = 0.25
    """Weight of minus tokens / ``token_scale`` (capped at 1): cheaper answers win ties."""
    token_scale: float = 2000.0
    """Tokens (input + output + cache) that cost a full -1 of the tokens component."""
    task_outcome: float = 1.0
    """+1 success, -1 failure, -0.5 abandoned, for the task the completion belongs to."""
    feedback: float = 0.5
    """+1 thumbs up, -1 thumbs down (mean over the task's ratings)."""

    def retention_weight(self, label: str) -> float:
        return dict(self.retention).get(label, 0.0)


@dataclass(frozen=True)
class MiningConfig:
    """One ``mine_preferences`` run: scoring, pairing and the split."""

    weights: ProductScoreWeights = field(default_factory=ProductScoreWeights)
    """Product score weights."""
    min_margin: float = 0.25
    """Pairs whose product-score difference is below this are ties and dropped."""
    max_pairs_per_prompt: int = 16
    """At most this many pairs per prompt group (largest margins first), so one popular
    prompt cannot dominate the dataset."""
    validation_share: float = 0.2
    """Share of prompt groups (not pairs) that go to validation."""
    split_seed: str = "flywheel"
    """Salt of the hash that assigns a prompt group to train or validation (stable across runs)."""
    chunk_events: int = 2000
    """Events read per query while scanning new telemetry."""

    def __post_init__(self) -> None:
        if self.min_margin < 0:
            raise ValueError("min_margin must be >= 0")
        if not 0.0 <= self.validation_share < 1.0:
            raise ValueError("validation_share must be in [0, 1)")
        if self.max_pairs_per_prompt < 1 or self.chunk_events < 1:
            raise ValueError("max_pairs_per_prompt and chunk_events must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BaselineConfig:
    """The scikit-learn baseline: L2 logistic regression on signal-feature differences."""

    c: float = 1.0
    """Inverse L2 strength (scikit-learn's ``C``)."""
    seed: int = 0
    """Seeds the solver and the pair-orientation flips."""
    length_controlled: bool = True
    """Fit the length features (``signals.LENGTH_FEATURES``) with the others, then score without
    those whose weight came out positive, as length-controlled AlpacaEval scores without its
    length term: the other weights are read with length held fixed, and the reward may charge
    for saying more (a negative weight: users ranked shorter answers higher) but never pays for
    it. Off, a loop run's RL (50 steps at 5e-4) taught v0 to wrap terminal commands in prose:
    verbosity 0.02 -> 0.48, the reward model's terminal score 0.09 -> 1.10, tokens per task
    +76%, and the gate refused it."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BradleyTerryConfig:
    """The torch Bradley-Terry reward model: loss -log sigmoid(r_chosen - r_rejected - margin)."""

    backbone: str = ""
    """Local Hugging Face checkpoint directory to start from (any model
    ``AutoModelForSequenceClassification`` loads with ``num_labels=1``); empty: a tiny Llama
    created here with a tokenizer trained on the pairs (tests, demo, CPU)."""
    hidden_size: int = 64
    """Width of the created tiny backbone (ignored with ``backbone``)."""
    num_hidden_layers: int = 2
    """Blocks of the created tiny backbone (ignored with ``backbone``)."""
    num_attention_heads: int = 4
    """Heads of the created tiny backbone (ignored with ``backbone``)."""
    vocab_size: int = 1024
    """Upper bound of the created tokenizer's vocabulary (ignored with ``backbone``)."""
    max_length: int = 256
    """Tokens per (prompt, response) text; longer texts keep their end (the response)."""
    epochs: int = 3
    """Passes over the training pairs."""
    batch_size: int = 16
    """Pairs per step (the chosen and rejected texts of a pair share one forward pass)."""
    learning_rate: float = 1e-3
    """AdamW peak learning rate (linear warmup, then linear decay to 10%)."""
    warmup_steps: int = 10
    """Linear warmup steps."""
    weight_decay: float = 0.01
    """AdamW decoupled weight decay."""
    use_margin: bool = True
    """Subtract the pair's mined margin inside the sigmoid (Llama 2's margin loss)."""
    margin_scale: float = 1.0
    """Multiplies the mined margin before it enters the loss."""
    seed: int = 0
    """Seeds initialisation and batch order."""
    length_controlled: bool = True
    """Train a length term beside the network and score without it unless it charges for
    length (see ``rewards.core.bradley_terry``), as the baseline's ``length_controlled``: a
    text model can read an answer's length, so leaving a feature out is not enough."""
    length_decorrelation: float = 0.1
    """Weight of the squared batch correlation between the network's reward and the length. At
    1.0 (and 0.3) one seed in four of the tiny backbone never left its starting point on the
    length test's pairs (every answer scored alike); at 0.1 all four learned them."""
    length_lr_scale: float = 50.0
    """The length term's learning rate, as a multiple of ``learning_rate``: one scalar that
    must move as far in a few hundred steps as the network's output does."""
    threads: int = 1
    """``torch.set_num_threads`` on CPU."""
    device: str = "auto"
    """"cpu", "cuda" or "auto" (cuda when available)."""

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.max_length < 8:
            raise ValueError("epochs and batch_size must be >= 1 and max_length >= 8")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
