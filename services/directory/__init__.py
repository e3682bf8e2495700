"""Directory service: the network's branches, service points and staff (port 8105)."""
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The directory web app (``gunicorn "services.directory:create_app()"``)."""
    from services.directory.api import blp
    from services.directory.public_api import blp as public_blp
    from services.directory.settings import AccountSettings
    config = dict(config or {})
    # Read once at start: a bad value stops the app here instead of failing each sign-in.
    config.setdefault("ACCOUNT_SETTINGS", AccountSettings.from_env())
    return create_service_app(
        "directory", title="LSQ Directory / 人员目录", config=config, blueprints=[blp, public_blp],
        description="Branches, service points and staff of the library network, and the staff's "
                    "sign-in accounts. Publishes lsq.staff.* and lsq.branch.* events.")
