"""Model features: registry (``specs``), weight sources, hidden-state extraction, activation cache.

Importing this package is cheap (no torch); ``extract``/``sources``/``hf_text`` import torch lazily.
"""
