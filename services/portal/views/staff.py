"""The staff area of the portal."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__)
