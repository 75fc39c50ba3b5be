"""Pure-Python core of the rewards app: no Django import anywhere below this package.

- ``facts``         - per-completion facts from the completion's telemetry (joined on request_id)
- ``product_score`` - the weighted product score of a completion, every component kept
- ``signals``       - best-practice signals of a response (style kept, helpers reused, verbosity)
- ``pairs``         - preference pairs over one prompt fingerprint, deduplicated, split by prompt group
- ``export``        - JSONL in TRL's and OpenRLHF's preference formats
- ``baseline``      - scikit-learn pairwise logistic model on signal features
- ``bradley_terry`` - torch Bradley-Terry reward model with margin over text
- ``evaluation``    - held-out pairwise accuracy and calibration
- ``artifacts``     - saving reward models and loading them behind one ``score`` interface
"""
