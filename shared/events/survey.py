"""Satisfaction-survey events, owned by the feedback service (topic ``lsq.survey``, key = survey)."""
from marshmallow import Schema, fields, validate

from shared.events import fields as f
from shared.events.registry import EventData, define


class TriadAnswer(Schema):
    """One rated LibQUAL+ item of an answer: the three levels on 1-9 (no reader data)."""

    item_code = fields.String(required=True, validate=validate.Length(min=1, max=64),
                              metadata={"description": "item of the questionnaire"})
    dimension = fields.String(required=True, validate=validate.Length(min=1, max=64),
                              metadata={"description": "LibQUAL+ dimension of the item"})
    minimum = fields.Integer(required=True, validate=validate.Range(1, 9),
                             metadata={"description": "minimum acceptable level, 1-9"})
    desired = fields.Integer(required=True, validate=validate.Range(1, 9),
                             metadata={"description": "desired level, 1-9"})
    perceived = fields.Integer(required=True, validate=validate.Range(1, 9),
                               metadata={"description": "perceived level, 1-9"})


class SurveyResponseSubmitted(EventData):
    survey_id = f.ref("the survey campaign")
    response_id = f.ref("the response")
    branch_id = f.ref("branch the answer is about")
    instrument_id = f.ref("questionnaire")
    instrument_version = f.integer("questionnaire version")
    user_group = f.text("respondent's user group, if asked", required=False, allow_none=True, max_length=50)
    submitted_at = f.time("when it was submitted")
    triads = fields.List(fields.Nested(TriadAnswer), required=False, metadata={
        "description": "the triad items rated (not those answered 'not applicable'), so that reports can "
                       "show the zone of tolerance over any period; absent from events of older producers"})


class SurveyClosed(EventData):
    survey_id = f.ref("the survey campaign")
    closed_at = f.time("when it closed")
    responses = f.integer("number of responses")
    summary = fields.Dict(required=True, metadata={
        "description": "per-dimension means and gaps, NPS, per branch (groups under 5 suppressed)"})


define("lsq.survey.response_submitted.v1", SurveyResponseSubmitted, service="feedback",
       subject="response_id", key="survey_id",
       description="A reader answered a satisfaction survey (no personal data).")
define("lsq.survey.closed.v1", SurveyClosed, service="feedback", subject="survey_id", key=None,
       description="A survey campaign closed; carries its summary.")
