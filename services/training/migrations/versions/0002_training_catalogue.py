"""Training: the default course catalogue and the default continuing-education policy.

A realistic starting catalogue for a Chinese public-library network, bilingual. network_admin
changes it through the API afterwards; this migration only seeds an empty database.

Revision ID: training_0002
Revises: training_0001
Create Date: 2026-11-28
"""
import json
import uuid
from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "training_0002"
down_revision = "training_0001"
branch_labels = None
depends_on = None

NAMESPACE = uuid.UUID("6f1c7c52-3a9e-4d0b-9a63-1b8f0c2b7e11")

# code, title_zh, title_en, area, hours, mandatory, delivery, validity_months, pass_mark,
# remedial_for, is_regulation, description_zh, description_en
CATALOGUE = [
    ("SQ-REG", "《2024年图书馆员工服务质量管理规定》全员培训", "Library Staff Service Quality Regulations 2024",
     "regulations_policy", 4.0, True, "online", None, 80.0, None, True,
     "规定的内容、服务标准、读者评价体系、奖惩办法；结业考核 80 分合格。",
     "The regulation itself: service standards, reader evaluation, rewards and sanctions; pass mark 80."),
    ("EM-SAFE", "应急处置与消防安全演练", "Emergency handling and fire-safety drill",
     "emergency_handling", 4.0, True, "in_person", 12, None, None, False,
     "疏散引导、突发疾病处置、消防器材使用；每年复训。",
     "Evacuation, first response to medical emergencies, fire equipment; renewed every year."),
    ("RS-REM", "读者服务礼仪与沟通技巧（强化班）", "Reader service etiquette and communication (remedial)",
     "communication_complaints", 8.0, False, "in_person", None, 70.0, "service_attitude", False,
     "面向服务态度评价偏低的馆员：服务礼仪、倾听与表达、情绪管理、案例演练。",
     "For staff whose service-attitude score was low: etiquette, listening, emotions, role play."),
    ("PC-REM", "专业能力提升：检索与参考咨询（强化班）", "Professional competence refresher: retrieval and reference (remedial)",
     "information_retrieval", 8.0, False, "in_person", None, 70.0, "professional_competence", False,
     "面向专业能力评价偏低的馆员：馆藏与数据库检索、参考咨询流程、实操考核。",
     "For staff whose competence score was low: catalogue and database searching, reference process."),
    ("RS-101", "读者服务规范与服务礼仪", "Reader service standards and etiquette",
     "reader_service", 4.0, False, "in_person", None, None, None, False,
     "服务台接待规范、特殊读者服务、无障碍服务。",
     "Desk standards, serving readers with special needs, accessible service."),
    ("IR-201", "信息检索与参考咨询实务", "Information retrieval and the reference interview",
     "information_retrieval", 6.0, False, "online", None, 60.0, None, False,
     "中外文数据库检索策略、参考咨询访谈技巧。",
     "Search strategies in Chinese and foreign databases; reference interview technique."),
    ("CC-201", "读者投诉处理与沟通", "Handling reader complaints and difficult conversations",
     "communication_complaints", 4.0, False, "in_person", None, None, None, False,
     "投诉受理、调查与答复流程（ISO 10002），冲突化解。",
     "Receiving, investigating and answering complaints (ISO 10002); de-escalation."),
    ("DS-201", "数字资源与移动图书馆服务", "Digital resources and mobile library services",
     "digital_services", 4.0, False, "online", None, None, None, False,
     "电子书与数据库使用指导、移动端服务、数字素养推广。",
     "Guiding readers through e-books and databases, mobile services, digital literacy."),
    ("CX-201", "跨文化交流与多语种读者服务", "Cultural exchange and multilingual reader service",
     "cultural_exchange", 6.0, False, "in_person", None, None, None, False,
     "外籍读者服务、文化交流活动策划、馆际合作经验分享。",
     "Serving foreign readers, planning cultural exchange events, sharing across libraries."),
]

DEFAULT_POLICY = {
    "annual_hours": {"default": 40.0},
    "area_minima": {"default": {}},
    "credit_factors": {"seminar": 1.0, "academic_forum": 1.0, "conference": 1.0, "networking": 0.5,
                       "teaching": 1.0},
    "teaching_cap_hours": 12.0,
    "remedial_threshold": 3.0,
    "remedial_due_days": 60,
    "onboarding_due_days": 30,
    "regulation_due_days": 30,
    "due_soon_days": 7,
}


def course_id(code: str) -> str:
    """Seeded courses have stable ids, the same in every deployment."""
    return str(uuid.uuid5(NAMESPACE, code))


def upgrade() -> None:
    now = datetime.now(timezone.utc)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC there, as shared.db.UtcDateTime does
    types = {"hours": sa.Float, "pass_mark": sa.Float, "mandatory": sa.Boolean, "is_regulation": sa.Boolean,
             "active": sa.Boolean, "version": sa.Integer, "validity_months": sa.Integer,
             "version_published_on": sa.Date, "created_at": sa.DateTime(timezone=True),
             "updated_at": sa.DateTime(timezone=True)}
    courses = sa.table(
        "courses", *(sa.column(c, types.get(c, sa.String)) for c in (
            "id", "code", "title_zh", "title_en", "description_zh", "description_en", "competency_area",
            "hours", "mandatory", "delivery", "validity_months", "pass_mark", "remedial_for",
            "is_regulation", "version", "version_notes", "version_published_on", "active", "created_at",
            "updated_at")))
    rows = []
    for (code, title_zh, title_en, area, hours, mandatory, delivery, validity, pass_mark, remedial,
         regulation, desc_zh, desc_en) in CATALOGUE:
        rows.append(dict(id=course_id(code), code=code, title_zh=title_zh, title_en=title_en,
                         description_zh=desc_zh, description_en=desc_en, competency_area=area, hours=hours,
                         mandatory=mandatory, delivery=delivery, validity_months=validity, pass_mark=pass_mark,
                         remedial_for=remedial, is_regulation=regulation, version=1,
                         version_notes="2024 edition" if regulation else None,
                         version_published_on=date(2024, 2, 4) if regulation else None, active=True,
                         created_at=now, updated_at=now))
    op.bulk_insert(courses, rows)
    policy = sa.table("training_policy", sa.column("id", sa.Integer), sa.column("data", sa.Text),
                      sa.column("updated_at", sa.DateTime(timezone=True)), sa.column("updated_by", sa.String))
    op.bulk_insert(policy, [dict(id=1, data=json.dumps(DEFAULT_POLICY), updated_at=now, updated_by="seed")])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM training_policy WHERE id = 1"))
    codes = ", ".join(f"'{row[0]}'" for row in CATALOGUE)
    op.execute(sa.text(f"DELETE FROM courses WHERE code IN ({codes})"))
