"""The portal's areas, one blueprint each: sign-in, readers, staff, the complaint desk (manage), a
manager's team (approvals, evaluations, training), administrators."""
from services.portal.views.admin import bp as admin
from services.portal.views.auth import bp as auth
from services.portal.views.inbox import bp as inbox
from services.portal.views.manage import bp as manage
from services.portal.views.reader import bp as reader
from services.portal.views.reports import bp as reports
from services.portal.views.staff import bp as staff
from services.portal.views.team import bp as team

AREAS = [auth, reader, staff, manage, team, admin, inbox, reports]
