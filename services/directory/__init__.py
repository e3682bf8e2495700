"""Directory service: the network's branches, service points and staff (port 8105)."""
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The directory web app (``gunicorn "services.directory:create_app()"``)."""
    from services.directory.api import blp
    return create_service_app(
        "directory", title="LSQ Directory / 人员目录", config=config, blueprints=[blp],
        description="Branches, service points and staff of the library network. "
                    "Publishes lsq.staff.* and lsq.branch.* events.")
