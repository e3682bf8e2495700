"""Training service: courses, sessions, external activities, continuing-education hours,
mandatory and remedial training (port 8103)."""
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The training web app (``gunicorn "services.training:create_app()"``)."""
    from services.training.api import blp
    return create_service_app(
        "training", title="LSQ Training / 培训与继续教育", config=config, blueprints=[blp],
        description="Courses, sessions with waiting lists, attendance and certificates, external "
                    "seminars and forums, continuing-education requirements, transcripts and compliance. "
                    "Publishes lsq.training.* and lsq.requirement.* events.")
