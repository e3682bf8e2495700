"""The reader area of the portal (no account): desk pages from a QR code, tracking, surveys."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reader", __name__)
