"""Fixtures of tests/features_audio (defined in audio_testlib.py, whose helpers the tests import by that unique
module name: "from conftest import" picks whichever conftest was imported last)."""

from audio_testlib import _isolated, audio_dirs  # noqa: F401 - fixtures registered here
