"""Training events, owned by the training service (topic ``lsq.training``, key = staff id)."""
from shared.events import fields as f
from shared.events.registry import EventData, define

SOURCES = ("course", "external")
KINDS = ("course", "seminar", "academic_forum", "conference", "networking", "teaching")
COMPETENCY_AREAS = ("information_retrieval", "reader_service", "cultural_exchange", "regulations_policy",
                    "emergency_handling", "communication_complaints", "digital_services")


class TrainingCompleted(EventData):
    completion_id = f.ref("the completion record")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    source = f.enum(SOURCES, "a course of the network, or an approved external activity")
    kind = f.enum(KINDS, "course, or the kind of external activity")
    course_id = f.ref("the course, for source=course", required=False, allow_none=True)
    title = f.text("title", max_length=300)
    competency_area = f.enum(COMPETENCY_AREAS, "competency area", required=False, allow_none=True)
    hours = f.number("hours attended")
    credit_hours = f.number("continuing-education hours credited (after credit factors and caps)")
    completed_on = f.day("date of completion")
    certificate_code = f.text("certificate verification code, if any", required=False, allow_none=True,
                              max_length=64)


define("lsq.training.completed.v1", TrainingCompleted, service="training", subject="completion_id",
       description="A staff member completed a course or had an external activity approved.")
