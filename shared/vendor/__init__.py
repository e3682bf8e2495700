"""Front-end assets kept in the repository, so that no page loads anything from outside at run time.

``manifest.json`` names each package (npm name, version, licence, what it is for) and the sha256 of
each file; ``verify()`` compares the files with it (a test does), and ``blueprint()`` serves them.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, abort, send_from_directory

from shared.auth import access

VENDOR_DIR = Path(__file__).resolve().parent
#: Assets never change under a name: a new version is a new manifest entry, so a long cache is safe.
CACHE_SECONDS = 7 * 24 * 3600


def manifest() -> dict:
    """The packages and their files' checksums."""
    return json.loads((VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))["packages"]


def verify() -> list[str]:
    """Every difference between the files and the manifest (missing, changed, unlisted); empty when all match."""
    problems = []
    for package, entry in manifest().items():
        folder = VENDOR_DIR / package
        listed = set(entry["files"])
        present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        problems += [f"{package}/{name}: missing" for name in sorted(listed - present)]
        problems += [f"{package}/{name}: not in the manifest" for name in sorted(present - listed)]
        for name in sorted(listed & present):
            if hashlib.sha256((folder / name).read_bytes()).hexdigest() != entry["files"][name]:
                problems.append(f"{package}/{name}: checksum differs from the manifest")
    return problems


def blueprint(name: str = "vendor", url_prefix: str = "/vendor") -> Blueprint:
    """Serves ``<url_prefix>/<package>/<file>`` for the files the manifest lists, and nothing else."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    listed = {(package, f) for package, entry in manifest().items() for f in entry["files"]}

    @bp.get("/<package>/<path:filename>")
    @access(anonymous=True)  # static files: no token
    def asset(package: str, filename: str):
        if (package, filename) not in listed:
            abort(404)
        return send_from_directory(VENDOR_DIR / package, filename, max_age=CACHE_SECONDS)

    return bp
