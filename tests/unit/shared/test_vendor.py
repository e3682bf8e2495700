"""The vendored front-end assets are exactly those of the manifest."""
import re

from shared import vendor


def test_every_vendored_file_matches_its_checksum():
    assert vendor.verify() == []
    entries = vendor.manifest()
    assert {"swagger-ui", "htmx", "echarts"} <= set(entries)
    for name, entry in entries.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]) and entry["license"] and entry["npm"]
        assert "LICENSE" in entry["files"], f"{name} ships without its licence"


def test_a_changed_file_is_reported(tmp_path, monkeypatch):
    copy = tmp_path / "vendor"
    copy.mkdir()
    (copy / "manifest.json").write_text((vendor.VENDOR_DIR / "manifest.json").read_text())
    for package, entry in vendor.manifest().items():
        (copy / package).mkdir()
        for name in entry["files"]:
            (copy / package / name).write_bytes((vendor.VENDOR_DIR / package / name).read_bytes())
    (copy / "htmx" / "htmx.min.js").write_bytes(b"alert(1)")
    (copy / "htmx" / "extra.js").write_bytes(b"")
    monkeypatch.setattr(vendor, "VENDOR_DIR", copy)
    assert vendor.verify() == ["htmx/extra.js: not in the manifest", "htmx/htmx.min.js: checksum differs from the manifest"]
