"""Pure reward core (no Django): trajectories, canonical tools, detectors, the scorer and
the attacker. Everything here can run inside a Ray worker or an RL framework's process."""
