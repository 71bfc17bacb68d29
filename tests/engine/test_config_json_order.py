"""config.json keeps the config's own order, so re-reading it rebuilds the same run."""

from __future__ import annotations

import json

from brainalign.cache import atomic


def test_write_json_keeps_order_when_asked(tmp_path):
    obj = {"rois": {"V2": 1, "V1": 2, "LOC": 3}, "b": 0, "a": 1}
    atomic.write_json(tmp_path / "kept.json", obj, sort_keys=False)
    atomic.write_json(tmp_path / "sorted.json", obj)
    kept = json.loads((tmp_path / "kept.json").read_text())
    assert list(kept) == ["rois", "b", "a"] and list(kept["rois"]) == ["V2", "V1", "LOC"]
    assert list(json.loads((tmp_path / "sorted.json").read_text())) == ["a", "b", "rois"]
