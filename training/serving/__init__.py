"""Serving the policy: a local vLLM stand-in and the one client used against both.

Pure Python (no Django). ``vllm_client`` needs only ``requests``; ``local_server`` loads
models with transformers (and peft for LoRA adapters).
"""
