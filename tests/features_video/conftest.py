"""Fixtures of tests/features_video (defined in video_testlib.py, whose helpers the tests import by that unique
module name: "from conftest import" picks whichever conftest was imported last)."""

from video_testlib import _isolated, tiny_video_models, videos  # noqa: F401 - fixtures registered here
