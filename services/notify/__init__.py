"""Notify service: tells readers and staff what concerns them by e-mail, work chat and the portal
inbox (port 8107)."""
from shared.web import create_service_app


def create_app(config: dict | None = None):
    """The notify web app (``gunicorn "services.notify:create_app()"``)."""
    from services.notify import service
    from services.notify.api import blp
    from services.notify.settings import NotifySettings
    app = create_service_app(
        "notify", title="LSQ Notify / 通知", config=config, blueprints=[blp],
        description="Notification rules and bilingual templates, staff preferences, duty-group robots "
                    "(WeCom, DingTalk, Feishu), the outbox of messages and the staff inbox. Consumes "
                    "complaint, evaluation, sanction, award, praise and training events; publishes "
                    "lsq.notification.sent.v1 / .failed.v1.")
    app.extensions["notify"] = NotifySettings.from_env(**(config or {}).get("NOTIFY", {}))
    service.seed_default_rules(app.extensions["lsq"].db)
    return app
