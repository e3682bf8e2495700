"""Feedback service: complaints with SLAs, praise, desk ratings, surveys and reader forums (port 8101)."""
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The feedback web app (``gunicorn "services.feedback:create_app()"``)."""
    from services.feedback.api import blp
    return create_service_app(
        "feedback", title="LSQ Feedback / 读者反馈", config=config, blueprints=[blp],
        description="The reader's voice: complaints (ISO 10002 style, with SLAs), praise, service-desk "
                    "ratings, satisfaction surveys (LibQUAL+-style) and reader forums. Publishes "
                    "lsq.complaint.*, lsq.praise.*, lsq.rating.* and lsq.survey.* events; consumes "
                    "directory staff and branch events.")
