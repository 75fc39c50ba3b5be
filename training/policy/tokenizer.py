"""A byte-level BPE tokenizer trained locally on the corpus, wrapped for transformers.

Byte-level means every string round-trips exactly (newlines, backslashes, code indentation),
which matters because the verifier parses commands and code out of the decoded text.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

BOS_TOKEN = "<|bos|>"
EOS_TOKEN = "<|eos|>"
PAD_TOKEN = "<|pad|>"
ROLE_TOKENS: tuple[str, ...] = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS: tuple[str, ...] = (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, *ROLE_TOKENS)
CHAT_ROLES: tuple[str, ...] = ("system", "user", "assistant")
# A vocabulary entry that is a word: letters, after byte-level BPE's marker of a leading space.
_WORD_TOKEN = re.compile(r"\u0120?([A-Za-z]+)")

# Each turn is "<|role|>\n{content}<|eos|>\n"; generation stops at eos, so the model learns
# to end its own turn. The prompt for generation ends with "<|assistant|>\n".
#
# In user and system turns an opening backtick gets a space after it ("named ` cache`"). Why:
# byte-level BPE glues a word to the space before it, so a bare `cache` in the prompt and
# "mkdir cache" in the answer start with different tokens ("c" vs "Ġc"), and a small model
# must learn that mapping before it can copy an argument. With the space, an argument is the
# same tokens on both sides. Measured after 3,000 bootstrap steps: v0 predicts a new name's
# first token at 0.00-0.02 nats with this template and 1.3-5.8 without. Assistant turns stay
# verbatim (they are the policy's own output).
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% else %}{% set content = message['content'] | replace(' `', ' ` ') %}{% endif %}"
    "{{ '<|' + message['role'] + '|>\n' + content + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def tokenizer_train(texts: Iterable[str], *, vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts``; specials get ids 0..len(SPECIAL_TOKENS)-1.

    Deterministic for identical input. ``vocab_size`` is an upper bound: a small corpus
    can exhaust its merges earlier.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer_wrap(tokenizer)


def tokenizer_wrap(tokenizer: Tokenizer) -> PreTrainedTokenizerFast:
    """Wrap a raw ``tokenizers.Tokenizer`` with specials and the chat template."""
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        additional_special_tokens=list(ROLE_TOKENS),
        padding_side="left",  # generation pads on the left so every row ends at its prompt
        clean_up_tokenization_spaces=False,
        model_max_length=1_000_000,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def tokenizer_words(tokenizer: PreTrainedTokenizerFast) -> list[str]:
    """The distinct words (letters only, leading space dropped) among the vocabulary's tokens, sorted."""
    return sorted({m.group(1) for token in tokenizer.get_vocab() if (m := _WORD_TOKEN.fullmatch(token))})


def chat_prompt(tokenizer: PreTrainedTokenizerFast, messages: list[dict[str, str]]) -> str:
    """Render ``messages`` with the tokenizer's chat template, ready for the assistant turn."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
