"""The admin area of the portal."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)
