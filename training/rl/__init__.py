"""GRPO/DAPO reinforcement learning on Ray (pure Python, no Django).

- ``RLConfig`` (``config``): the one typed config of a run;
- ``algorithms``: advantages, clipped token-level loss, overlong penalty, dynamic sampling, KL;
- ``curriculum``: retires tasks always or never solved;
- ``rollout`` / ``rollout_vllm`` / ``learner``: the Ray actors;
- ``driver``: ``rl_train(config, reporter=...)`` and ``python -m training.rl.driver``.
"""
