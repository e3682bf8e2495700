"""Reports service: the network's dashboard, branch comparison, trends, SLA board, LibQUAL+
results, staff profiles and the effectiveness review, from its own read model (port 8106)."""
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The reports web app (``gunicorn "services.reports:create_app()"``)."""
    from services.reports.api import blp
    return create_service_app(
        "reports", title="LSQ Reports / 统计报表", config=config, blueprints=[blp],
        description="Periodic figures as JSON, CSV and XLSX: overview, branch comparison, trends, complaint SLA "
                    "board, LibQUAL+ survey results, staff profile, effectiveness review. Consumes every lsq.* "
                    "topic into daily rollups; publishes nothing.")
