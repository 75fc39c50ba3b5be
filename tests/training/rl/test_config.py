"""RLConfig validation: bad values name their field."""
from __future__ import annotations

import pytest

from training.rl.config import LoraSettings, RLConfig, RLConfigError, rl_config_from_dict, rl_config_to_dict


def test_defaults_are_dapo():
    config = RLConfig()
    assert (config.clip_ratio_low, config.clip_ratio_high, config.kl_coef, config.loss_aggregation) == (0.2, 0.28, 0.0, "token_mean")
    assert config.dynamic_sampling


def test_round_trip_through_json_dict():
    config = RLConfig(lora=LoraSettings(rank=4), task_mix=(("terminal", 1.0),), task_id_prefixes=("term-",))
    assert rl_config_from_dict(rl_config_to_dict(config)) == config


@pytest.mark.parametrize(
    "data, field",
    [
        ({"group_size": 1}, "group_size"),
        ({"stepz": 3}, "stepz"),
        ({"steps": "ten"}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"dynamic_sampling": "yes"}, "dynamic_sampling"),
        ({"loss_aggregation": "sum"}, "loss_aggregation"),
        ({"reward_source": "http"}, "reward_endpoint"),
        ({"lora": {"rnk": 4}}, "lora.rnk"),
        ({"task_kinds": ["poetry"]}, "task_kinds"),
        ({"overlong_buffer": 64, "max_new_tokens": 48}, "overlong_buffer"),
        ({"device": "gpu"}, "device"),
        ({"eval_tasks": -1}, "eval_tasks"),
        ({"eval_samples": 0}, "eval_samples"),
        ({"eval_temperature": 0.0}, "eval_temperature"),
    ],
)
def test_bad_values_name_the_field(data, field):
    with pytest.raises(RLConfigError) as error:
        rl_config_from_dict(data)
    assert error.value.field == field


def test_lora_true_means_default_adapters():
    assert rl_config_from_dict({"lora": True}).lora == LoraSettings()


def test_held_out_answers_are_greedy_unless_several_are_asked_for():
    assert RLConfig(eval_samples=1, eval_temperature=0.7).eval_answer_temperature == 0.0
    assert RLConfig(eval_samples=8, eval_temperature=0.7).eval_answer_temperature == 0.7
    assert "eval_answer_temperature" not in rl_config_to_dict(RLConfig())
