"""The manage area of the portal."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("manage", __name__)
