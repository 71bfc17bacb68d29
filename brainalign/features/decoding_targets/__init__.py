"""Decoding targets beyond vision-model embeddings (Takagi & Nishimoto's multiple decoded inputs), one file per
kind, each cached content-keyed in the activation store like other feature extraction:

- :mod:`.vae_latents`: Stable Diffusion VAE latents ``z`` of the stimuli ``(n, c, h, w)``;
- :mod:`.text_embeddings`: text-encoder conditioning ``c`` of captions ``(n, tokens, d)`` (mean over an image's
  captions) and the captions table reader;
- :mod:`.depth_maps`: monocular depth maps ``(n, size, size)`` from a depth model of the depth registry
  (:mod:`.depth_registry`, ``pipelines/models/depth/*.yaml``).
"""
