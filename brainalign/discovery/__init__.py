"""Discovery: new questions asked of a fitted image-computable encoder (features + ridge readout).

- :mod:`~brainalign.discovery.readout`: the readout a vision score run stores with ``save_weights: true``
  (coefficients, intercept, feature standardisation, feature-space fingerprint) and its checks.
- :mod:`~brainalign.discovery.encoder_model`: the differentiable encoder (vision backbone -> the score run's
  pooling and design -> readout) in torch, and its feature-space fingerprint.
- :mod:`~brainalign.discovery.guidance`: brain-guided diffusion (BrainDiVE-style classifier guidance by the
  gradient of a predicted ROI activation w.r.t. the latents) for the generator registry's pipelines.
- :mod:`~brainalign.discovery.preferences`: voxel / ROI readout directions projected onto the embedding manifold
  of a natural-image set (BrainSCUBA-style softmax projection), nearest images, ground-truth drive checks.
- :mod:`~brainalign.discovery.captioner`: embedding-conditioned captioners (ClipCap-style prefix LM) from the
  ``captioners`` registry.

torch, transformers and diffusers are imported inside functions (``import brainalign`` stays light).
"""
