"""The torch Bradley-Terry reward model with margin, over (prompt, response) text.

r(x, y) is the scalar head of a sequence-classification model (``num_labels=1``) read at the
last token of the rendered (prompt, response). Training minimises, per pair,

    loss = -log sigmoid(r(x, y_chosen) - r(x, y_rejected) - m)

with m the mined margin (Llama 2's margin loss; m = 0 without ``use_margin``). Length
controlled (``BradleyTerryConfig.length_controlled``), the trained reward is
q(x, y) + beta * log(1 + chars(y)): a learned length term beside the network's q, and a
penalty on the batch correlation of q with that length pushes the length signal out of q
(ODIN's disentangled heads, Chen et al. 2024). The score is q alone, plus beta's term only
when beta < 0: it may charge for saying more, never pay for it. The chosen
and rejected texts of a batch share one forward pass; batches are grouped by length so
little padding is computed. The backbone is any local Hugging Face checkpoint, or a tiny
Llama created here with a byte-level BPE tokenizer trained on the pairs (the policy's own
recipe, ``training.policy``), so nothing is ever downloaded.
"""
from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from rewards.core.config import BradleyTerryConfig
from rewards.core.evaluation import calibration, pairwise_accuracy
from rewards.core.pairs import PreferencePair
from rewards.core.signals import log_chars
from training.policy.config import PolicyArchitecture
from training.policy.model import policy_model_create
from training.policy.tokenizer import tokenizer_train

KIND = "bradley_terry"
SETTINGS_FILE = "flywheel_reward_model.json"


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor, margin: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigmoid(r_c - r_r - m). Shapes: (B,), (B,), (B,) -> ()."""
    return -F.logsigmoid(chosen - rejected - margin).mean()


def response_length(responses: Sequence[str]) -> torch.Tensor:
    """``signals.log_chars`` of each response: the length the length term reads. (B,)"""
    return torch.tensor([log_chars(response) for response in responses], dtype=torch.float32)


def squared_correlation(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of ``values`` with ``lengths``, squared (0 when either is constant). (N,), (N,) -> ()."""
    values, lengths = values - values.mean(), lengths - lengths.mean()
    denominator = values.norm() * lengths.norm()
    if denominator < 1e-8:
        return values.new_zeros(())
    return (values @ lengths / denominator) ** 2


def learning_rate(step: int, *, total: int, peak: float, warmup: int) -> float:
    """Linear warmup to ``peak``, then linear decay to 10% of it at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (1.0 - 0.9 * min(1.0, progress))


def render(tokenizer: PreTrainedTokenizerBase, prompt: str, response: str) -> str:
    """The text the model reads: the tokenizer's chat template when it has one, else prompt + response."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}], tokenize=False
        )
    return f"{prompt}\n{response}"


def backbone_create(texts: Sequence[str], config: BradleyTerryConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """(scalar-head model, tokenizer): loaded from ``config.backbone`` or created tiny from ``texts``."""
    if config.backbone:
        directory = Path(config.backbone)
        if not (directory / "config.json").is_file():
            raise FileNotFoundError(f"no Hugging Face checkpoint (config.json) in {directory}")
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForSequenceClassification.from_pretrained(directory, num_labels=1, local_files_only=True)
        model.config.pad_token_id = tokenizer.pad_token_id
    else:
        tokenizer = tokenizer_train(texts, vocab_size=config.vocab_size)
        architecture = PolicyArchitecture(
            vocab_size=config.vocab_size, hidden_size=config.hidden_size, intermediate_size=2 * config.hidden_size,
            num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.num_attention_heads,
            num_key_value_heads=config.num_attention_heads, max_position_embeddings=max(config.max_length, 64),
        )
        model_config = policy_model_create(architecture=architecture, tokenizer=tokenizer, seed=config.seed).config
        model_config.num_labels = 1
        torch.manual_seed(config.seed)
        model = AutoModelForSequenceClassification.from_config(model_config)
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"  # keep the end: the response, and the last token the head reads
    return model, tokenizer


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _pad(sequences: list[list[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad token id lists. Returns (input_ids, attention_mask), both (B, T)."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, width - len(sequence):] = torch.tensor(sequence, dtype=torch.long)
        mask[row, width - len(sequence):] = 1
    return ids.to(device), mask.to(device)


def _rewards(model: PreTrainedModel, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Scalar reward per row. Shapes: (B, T), (B, T) -> (B,)."""
    return model(input_ids=ids, attention_mask=mask).logits[:, 0].float()


@dataclass
class BradleyTerryRewardModel:
    """A loaded Bradley-Terry model; ``score`` is batched and gradient-free."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    max_length: int
    version: str = ""
    batch_size: int = 32
    kind: str = KIND
    length_weight: float = 0.0
    """Weight of log(1 + chars) in the score: beta when the fit charged for length (< 0), else 0."""
    withheld_length_weight: float = 0.0
    """Beta when the fit paid for length (> 0): kept in the artifact, left out of the score."""

    def encode(self, prompts: Sequence[str], responses: Sequence[str]) -> list[list[int]]:
        texts = [render(self.tokenizer, p, r) for p, r in zip(prompts, responses)]
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length, add_special_tokens=False)
        return [list(ids) or [self.tokenizer.pad_token_id] for ids in encoded["input_ids"]]

    @torch.inference_mode()
    def score_ids(self, sequences: list[list[int]]) -> list[float]:
        self.model.eval()
        device = next(self.model.parameters()).device
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        scores = [0.0] * len(sequences)
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            ids, mask = _pad([sequences[i] for i in rows], self.tokenizer.pad_token_id, device)
            for i, value in zip(rows, _rewards(self.model, ids, mask).tolist()):
                scores[i] = value
        return scores

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        if len(prompts) != len(responses):
            raise ValueError("prompts and responses must have the same length")
        if not prompts:
            return []
        scores = self.score_ids(self.encode(prompts, responses))
        if not self.length_weight:
            return scores
        return [score + self.length_weight * length for score, length in zip(scores, response_length(responses).tolist())]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save_pretrained(directory)
        (directory / SETTINGS_FILE).write_text(json.dumps({
            "max_length": self.max_length, "length_weight": self.length_weight,
            "withheld_length_weight": self.withheld_length_weight,
        }, indent=2))

    @classmethod
    def load(cls, directory: Path, *, version: str, device: str = "auto") -> "BradleyTerryRewardModel":
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        tokenizer.padding_side = "left"
        tokenizer.truncation_side = "left"
        model = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True)
        model.to(_device(device)).eval()
        settings = json.loads((directory / SETTINGS_FILE).read_text())
        return cls(model=model, tokenizer=tokenizer, max_length=settings["max_length"], version=version,
                   # both absent from artifacts saved before length control
                   length_weight=settings.get("length_weight", 0.0),
                   withheld_length_weight=settings.get("withheld_length_weight", 0.0))


@dataclass
class BradleyTerryFit:
    reward_model: BradleyTerryRewardModel
    train_seconds: float
    losses: list[float] = field(default_factory=list)
    """Mean loss per epoch."""
    fitted_length_weight: float | None = None
    """The length term's beta as trained (None without length control)."""


def _length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort within windows of 16 batches, shuffle batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 16
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches.extend(chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def bradley_terry_fit(
    pairs: Sequence[PreferencePair],
    config: BradleyTerryConfig,
    *,
    on_step: Callable[[int, int, float], None] | None = None,
) -> BradleyTerryFit:
    """Train on ``pairs`` (pass the training split). ``on_step(step, total, loss)`` reports progress.

    Raises ValueError without pairs.
    """
    if not pairs:
        raise ValueError("no training pairs: mine preferences first")
    started = time.perf_counter()
    device = _device(config.device)
    if device.type == "cpu":
        torch.set_num_threads(config.threads)
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    texts = [text for pair in pairs for text in (pair.prompt, pair.chosen, pair.rejected)]
    model, tokenizer = backbone_create(texts, config)
    model.to(device).train()
    scorer = BradleyTerryRewardModel(model=model, tokenizer=tokenizer, max_length=config.max_length)
    chosen_ids = scorer.encode([p.prompt for p in pairs], [p.chosen for p in pairs])
    rejected_ids = scorer.encode([p.prompt for p in pairs], [p.rejected for p in pairs])
    margins = torch.tensor([p.margin * config.margin_scale if config.use_margin else 0.0 for p in pairs], dtype=torch.float32)
    chosen_lengths = response_length([p.chosen for p in pairs])
    rejected_lengths = response_length([p.rejected for p in pairs])
    length_weight = torch.zeros((), device=device, requires_grad=config.length_controlled)
    lengths = [max(len(c), len(r)) for c, r in zip(chosen_ids, rejected_ids)]
    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    total = steps_per_epoch * config.epochs
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim < 2 or "norm" in name else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.length_controlled:
        groups.append({"params": [length_weight], "weight_decay": 0.0, "lr_scale": config.length_lr_scale})
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate)
    losses, step = [], 0
    for _ in range(config.epochs):
        epoch_loss = 0.0
        for batch in _length_grouped_batches(lengths, config.batch_size, rng):
            for group in optimizer.param_groups:
                group["lr"] = group.get("lr_scale", 1.0) * learning_rate(
                    step, total=total, peak=config.learning_rate, warmup=config.warmup_steps
                )
            ids, mask = _pad([chosen_ids[i] for i in batch] + [rejected_ids[i] for i in batch], tokenizer.pad_token_id, device)
            quality = _rewards(model, ids, mask)  # q: chosen rows, then rejected rows
            response_lengths = torch.cat([chosen_lengths[batch], rejected_lengths[batch]]).to(device)
            rewards = quality + length_weight * response_lengths
            loss = bradley_terry_loss(rewards[: len(batch)], rewards[len(batch):], margins[batch].to(device))
            if config.length_controlled:
                loss = loss + config.length_decorrelation * squared_correlation(quality, response_lengths)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            epoch_loss += loss.item() * len(batch)
            if on_step is not None:
                on_step(step, total, loss.item())
        losses.append(epoch_loss / len(pairs))
    model.eval()
    fitted = float(length_weight.detach()) if config.length_controlled else None
    if fitted is not None:
        scorer.length_weight, scorer.withheld_length_weight = min(fitted, 0.0), max(fitted, 0.0)
    return BradleyTerryFit(reward_model=scorer, train_seconds=time.perf_counter() - started, losses=losses,
                           fitted_length_weight=fitted)


def held_out_metrics(model, pairs: Sequence[PreferencePair]) -> dict:
    """``{"pairwise_accuracy", "calibration", "pairs"}`` of any reward model on ``pairs``."""
    chosen = model.score([p.prompt for p in pairs], [p.chosen for p in pairs])
    rejected = model.score([p.prompt for p in pairs], [p.rejected for p in pairs])
    return {"pairwise_accuracy": pairwise_accuracy(chosen, rejected), "calibration": calibration(chosen, rejected), "pairs": len(pairs)}
