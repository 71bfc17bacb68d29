"""Audio feature sources: speech encoders (wav2vec 2.0, HuBERT, WavLM), the Whisper encoder and audio LLMs
(Qwen2-Audio), every layer at the model's own frame rate with each frame's time in seconds of stimulus time.

Entry point: :func:`brainalign.features.audio.extract.extract_audio_layers` (returns
:class:`~brainalign.features.timed.TimedFeatures`); registry: :mod:`brainalign.features.audio.registry`.
Importing this package is cheap (no torch).
"""

from brainalign.features.audio.extract import extract_audio_layers

__all__ = ["extract_audio_layers"]
