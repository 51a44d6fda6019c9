"""Satisfaction surveys after a return: sent by e-mail with an unguessable link, answered once.

The link carries a random token (``secrets.token_urlsafe``, 256 bits); only its SHA-256 is
stored, so the database alone cannot answer a survey. A survey is answered once (score 1–5 and
an optional comment) before it expires; the return's process closes it when its timer fires.
Scores feed ``satisfaction_by_month`` (average and count per month, for the KPI dashboard).
"""
import hashlib
import secrets
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from app.domain.errors import Conflict, Invalid, NotFound
from app.domain.outbox import enqueue_email
from app.models.returns import CustomerSurvey, ReturnRequest
from app.models.sales import Customer
from app.models.types import utcnow

ANSWER_DAYS = 14
MAX_COMMENT = 2000
SCORES = range(1, 6)


class SurveyClosed(Conflict):
    code = "survey_closed"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def send_survey(session, ret: ReturnRequest, *, link_base: str,
                days: int = ANSWER_DAYS) -> dict:
    """Create the survey and queue its e-mail (once per return). ``sent`` is False when there
    is no address to send it to."""
    survey = session.scalar(select(CustomerSurvey).where(CustomerSurvey.return_id == ret.id))
    if survey is None:
        customer = session.get(Customer, ret.customer_id)
        email = ret.contact_email or customer.email
        if not email:
            return {"sent": False, "survey_id": None, "expires_at": None}
        token, now = secrets.token_urlsafe(32), utcnow()
        survey = CustomerSurvey(return_id=ret.id, customer_id=customer.id,
                                token_hash=token_hash(token), email=email, status="sent",
                                sent_at=now, expires_at=now + timedelta(days=days))
        session.add(survey)
        session.flush()
        link = f"{link_base.rstrip('/')}/survey/{token}"
        enqueue_email(session, key=f"survey:{ret.number}", to=[email],
                      subject=f"How did we do with your return {ret.number}?",
                      body=f"Dear {customer.name},\n\nyour return {ret.number} is settled. "
                           "Would you tell us how satisfied you are with how we handled it? "
                           "One score from 1 (poor) to 5 (excellent), and a comment if you "
                           f"like:\n\n{link}\n\nThe link works once, until "
                           f"{survey.expires_at:%Y-%m-%d}.")
    return {"sent": True, "survey_id": survey.id,
            "expires_at": survey.expires_at.isoformat()}


def survey_for_token(session, token: str, *, lock: bool = False) -> CustomerSurvey:
    query = select(CustomerSurvey).where(CustomerSurvey.token_hash == token_hash(token or ""))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    survey = session.scalar(query)
    if survey is None:
        raise NotFound("this survey link is not valid")
    return survey


def check_open(survey: CustomerSurvey) -> None:
    if survey.status == "answered":
        raise SurveyClosed("this survey was already answered: thank you")
    if survey.status != "sent" or utcnow() >= survey.expires_at:
        raise SurveyClosed("this survey is closed")


def checked_answer(score, comment) -> tuple[int, str | None]:
    problems = []
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        problems.append({"field": "score", "message": "a whole number from 1 to 5"})
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        problems.append({"field": "comment", "message": f"at most {MAX_COMMENT} characters"})
    if problems:
        raise Invalid("the answer is not valid", details=problems)
    return score, comment


def record_answer(session, survey_id: int, score, comment=None) -> CustomerSurvey:
    """Record the answer once; a survey answered, expired or past its date refuses."""
    survey = session.scalar(select(CustomerSurvey).where(CustomerSurvey.id == survey_id)
                            .with_for_update().execution_options(populate_existing=True))
    if survey is None:
        raise NotFound(f"survey {survey_id} not found")
    score, comment = checked_answer(score, comment)
    check_open(survey)
    survey.score, survey.comment, survey.status = score, comment, "answered"
    survey.answered_at = utcnow()
    session.flush()
    return survey


def expire(session, survey_id: int | None) -> dict:
    """Close an unanswered survey (its timer fired); an answered one stays as it is."""
    survey = session.scalar(select(CustomerSurvey).where(CustomerSurvey.id == survey_id)
                            .with_for_update()) if survey_id else None
    if survey is None:
        return {"status": None}
    if survey.status == "sent":
        survey.status, survey.closed_at = "expired", utcnow()
        session.flush()
    return {"status": survey.status}


def survey_view(survey: CustomerSurvey | None) -> dict | None:
    if survey is None:
        return None
    return {"status": survey.status, "email": survey.email, "sent_at": survey.sent_at,
            "expires_at": survey.expires_at, "answered_at": survey.answered_at,
            "score": survey.score, "comment": survey.comment}


def satisfaction_by_month(session, start: date, end: date) -> dict:
    """Answered surveys per month of answer: average score and count, and over the period."""
    start_at = datetime.combine(start, time(), timezone.utc)
    end_at = datetime.combine(end + timedelta(days=1), time(), timezone.utc)
    rows = session.execute(select(CustomerSurvey.answered_at, CustomerSurvey.score).where(
        CustomerSurvey.status == "answered", CustomerSurvey.answered_at >= start_at,
        CustomerSurvey.answered_at < end_at)).all()
    months: dict[str, list[int]] = {}
    for answered_at, score in rows:
        months.setdefault(answered_at.strftime("%Y-%m"), []).append(score)
    scores = [s for _, s in rows]
    return {"value": _average(scores), "count": len(scores),
            "months": [{"month": m, "average": _average(v), "count": len(v)}
                       for m, v in sorted(months.items())]}


def _average(scores: list[int]) -> Decimal | None:
    if not scores:
        return None
    return (Decimal(sum(scores)) / Decimal(len(scores))).quantize(Decimal("0.01"))
