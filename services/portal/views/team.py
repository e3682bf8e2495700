"""The team area of the portal: approvals, evaluations and training of a supervisor's or branch manager's staff."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("team", __name__)
