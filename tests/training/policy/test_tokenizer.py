from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer

from training.policy.tokenizer import BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, chat_prompt, tokenizer_train, tokenizer_words

CORPUS = [
    "$ Get-ChildItem -Path C:\\Users\\dev | Sort-Object Length",
    "```python\ndef add(a, b):\n    return a + b\n```",
    "$ grep -rn 'TODO' src/ && echo done",
] * 20


def test_byte_level_round_trip_is_exact() -> None:
    tokenizer = tokenizer_train(CORPUS, vocab_size=300)
    for text in [*CORPUS[:3], "tabs\tand  double  spaces\n\n", "unicode: héllo → ✓", "C:\\path\\x"]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text


def test_specials_and_chat_template(tmp_path: Path) -> None:
    tokenizer = tokenizer_train(CORPUS, vocab_size=300)
    assert (tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token) == (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN)
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    prompt = chat_prompt(tokenizer, [{"role": "system", "content": "os: linux"}, {"role": "user", "content": "hi"}])
    assert prompt == "<|bos|><|system|>\nos: linux<|eos|>\n<|user|>\nhi<|eos|>\n<|assistant|>\n"
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert ids[:2] == [tokenizer.bos_token_id, tokenizer.convert_tokens_to_ids("<|system|>")]

    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    assert chat_prompt(reloaded, [{"role": "user", "content": "hi"}]) == chat_prompt(
        tokenizer, [{"role": "user", "content": "hi"}]
    )
    assert reloaded(prompt, add_special_tokens=False)["input_ids"] == ids


def test_an_argument_is_the_same_tokens_in_the_prompt_and_in_the_answer() -> None:
    corpus = ["Linux, bash. Create a directory named `cache`.", "$ mkdir cache", "$ mkdir build"] * 20
    tokenizer = tokenizer_train(corpus, vocab_size=300)
    prompt = chat_prompt(tokenizer, [{"role": "user", "content": "Create a directory named `lisufa`."}])
    assert "named ` lisufa`." in prompt
    prompt_tokens = tokenizer.tokenize(prompt)
    answer_tokens = tokenizer.tokenize("$ mkdir lisufa")
    argument = answer_tokens[answer_tokens.index(tokenizer.tokenize(" mkdir")[0]) + 1 :]
    assert argument[0].startswith("Ġ")
    assert any(prompt_tokens[i : i + len(argument)] == argument for i in range(len(prompt_tokens)))


def test_the_template_leaves_assistant_turns_and_fences_verbatim() -> None:
    tokenizer = tokenizer_train(CORPUS, vocab_size=300)
    code = "```python\nx = `a`\n```"
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": code}, {"role": "assistant", "content": "ran `ls` here"}], tokenize=False
    )
    assert "<|user|>\n```python\nx = ` a`\n```<|eos|>" in rendered
    assert "<|assistant|>\nran `ls` here<|eos|>" in rendered


def test_training_is_deterministic() -> None:
    a = tokenizer_train(CORPUS, vocab_size=300)
    b = tokenizer_train(CORPUS, vocab_size=300)
    assert a.get_vocab() == b.get_vocab()


def test_tokenizer_words_are_the_letter_tokens_without_their_space_marker() -> None:
    tokenizer = tokenizer_train(["mkdir cache", "cat cache.db", "ls tests/unit"] * 20, vocab_size=300)
    words = tokenizer_words(tokenizer)
    assert words == sorted(set(words)) and all(w.isalpha() and w.isascii() for w in words)
    assert {"cache", "mkdir", "tests"} <= set(words)  # frequent enough to be merged into one token each
    vocab = tokenizer.get_vocab()
    assert all(w in vocab or "\u0120" + w in vocab for w in words)  # each is a token, alone or after a space
