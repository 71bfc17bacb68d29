"""Manifests of the image-fMRI releases: packaged beside NSD, terms-gated where NSD-derived, not in the catalog."""

from __future__ import annotations

import pytest

from brainalign.data.manifest import known_manifests, restricted_manifest_path
from brainalign.yaml_io import load_file


@pytest.mark.parametrize("name, access", [("MindEye2", "agreement-required"), ("Algonauts2023", "agreement-required"),
                                          ("BOLD5000", "public")])
def test_manifest(name, access) -> None:
    m = load_file(restricted_manifest_path(name), "manifest")
    assert m["name"] == name and m["access"] == access and m["files"] and name not in known_manifests()
    if access == "agreement-required":
        assert m["terms_url"].startswith("https://cvnlab.slite.page")


def test_mindeye2_published_checksum() -> None:
    files = {f["name"]: f for f in load_file(restricted_manifest_path("MindEye2"), "manifest")["files"]}
    subj01 = files["betas_all_subj01_fp32_renorm.hdf5"]
    assert subj01["sha256"].startswith("71992eb8") and subj01["size"] == 1886882048
