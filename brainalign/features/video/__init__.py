"""Video feature sources: HF video encoders, image models per frame, video LLMs (one file per source kind).

Entry point: :func:`brainalign.features.video.extract.extract_video_layers`; registry:
:mod:`brainalign.features.video.registry` (``pipelines/models/video/*.yaml``).
"""
