"""Incentive service: the award fund, progressive sanctions, points, appeals (port 8104)."""
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The incentive web app (``gunicorn "services.incentive:create_app()"``)."""
    from services.incentive.api import blp
    return create_service_app(
        "incentive", title="LSQ Incentive / 奖惩管理", config=config, blueprints=[blp],
        description="Awards from the service-quality fund, recognition points, the progressive sanction "
                    "ladder, appeals, and the append-only ledger tracing each decision to its cause events "
                    "and policy version. Publishes lsq.award.*, lsq.sanction.*, lsq.points.*.")
