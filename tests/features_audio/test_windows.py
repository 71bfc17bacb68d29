"""Window plans: kept frames tile every frame once, in order, with context on both sides."""

from __future__ import annotations

import pytest

from brainalign.errors import ConfigError
from brainalign.features.audio.windows import plan_windows


@pytest.mark.parametrize("n_samples", [700, 32000, 32001, 95999, 160000, 481234])
@pytest.mark.parametrize("rf", [0, 400])
def test_kept_frames_tile_all_frames(n_samples, rf):
    hop, window, context = 320, 32000, 6400
    n_frames = (n_samples - rf) // hop + 1 if rf else -(-n_samples // hop)
    wins = plan_windows(n_samples, n_frames, window=window, context=context, hop=hop)
    assert wins[0].keep_start == 0 and wins[-1].keep_stop == n_frames
    for a, b in zip(wins, wins[1:], strict=False):
        assert a.keep_stop == b.keep_start  # contiguous, no overlap
    for w in wins:
        assert w.start % hop == 0 and 0 <= w.start < w.stop <= n_samples and w.stop - w.start <= window
        assert w.keep_start < w.keep_stop
        if w.start > 0:  # every kept frame has `context` samples before it in its window
            assert w.keep_start * hop - w.start >= context
        if w.stop < n_samples:
            assert w.stop - w.keep_stop * hop >= context
    assert len(wins) == (1 if n_samples <= window else -(-(n_samples - window) // (window - 2 * context)) + 1)


def test_bad_window_settings_are_one_line():
    with pytest.raises(ConfigError, match="2 \\* context < window"):
        plan_windows(10**6, 3000, window=32000, context=16000, hop=320)
    with pytest.raises(ConfigError, match="multiples"):
        plan_windows(10**6, 3000, window=32001, context=3200, hop=320)
