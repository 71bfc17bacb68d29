"""Decoders: brain responses -> embeddings (retrieval) -> images (reconstruction) or categories.

Submodules are imported on demand (torch, diffusers and accelerate are optional extras).
"""
