"""Evaluation service: periodic multi-source evaluation of every staff member (port 8102)."""
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The evaluation web app (``gunicorn "services.evaluation:create_app()"``)."""
    from services.evaluation.api import blp
    return create_service_app(
        "evaluation", title="LSQ Evaluation / 员工评价", config=config, blueprints=[blp],
        description="Rubrics, evaluation cycles, reader/supervisor/peer/self ratings, scores, grades and "
                    "appeals. Publishes lsq.cycle.* and lsq.evaluation.* events; consumes staff, branch, "
                    "rating, praise and complaint events.")
