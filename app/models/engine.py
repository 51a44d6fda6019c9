"""Tables of the process runtime: deployments, instances and their projections."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

# Instance statuses. "Active" ones hold their business key.
RUNNING, WAITING, COMPLETED, ERROR, SUSPENDED, TERMINATED = (
    "running", "waiting", "completed", "error", "suspended", "terminated")
ACTIVE_STATUSES = (RUNNING, WAITING, ERROR, SUSPENDED)
_ACTIVE_SQL = "status IN ('running', 'waiting', 'error', 'suspended')"


class Deployment(db.Model):
    """One immutable version of the whole set of diagrams and forms, keyed by content hash."""

    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    files: Mapped[list["DeploymentFile"]] = relationship(
        cascade="all, delete-orphan", order_by="DeploymentFile.name")
    processes: Mapped[list["ProcessDefinition"]] = relationship(
        cascade="all, delete-orphan", order_by="ProcessDefinition.process_id")


class DeploymentFile(db.Model):
    __tablename__ = "deployment_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | dmn | form
    content: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("deployment_id", "name"),)


class ProcessDefinition(db.Model):
    __tablename__ = "process_definition"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("deployment_id", "process_id"),)


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    business_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=RUNNING)
    # Optimistic lock: every save is "UPDATE ... WHERE revision = :seen".
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # zlib-compressed workflow JSON without the spec (the spec is cached per deployment).
    state: Mapped[bytes] = mapped_column(LargeBinary)
    waiting_at: Mapped[list] = mapped_column(JSON, default=list)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(500))
    deployment: Mapped[Deployment] = relationship()
    __mapper_args__ = {"version_id_col": revision}
    __table_args__ = (
        # A business key belongs to one active instance of a process at a time.
        Index("uq_instance_active_business_key", "process_id", "business_key", unique=True,
              sqlite_where=text(_ACTIVE_SQL), postgresql_where=text(_ACTIVE_SQL)),
        Index("ix_instance_business_key", "business_key"),
        Index("ix_instance_status_updated", "status", "updated_at"),
    )

    @property
    def deployment_version(self) -> int:
        """As the runtime's InstanceRow has it (InstanceSchema dumps both)."""
        return self.deployment.version


class HumanTask(db.Model):
    """A user task as the inbox sees it, projected from the engine on every save."""

    __tablename__ = "human_task"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    process_id: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    node_id: Mapped[str] = mapped_column(String(200))
    node_name: Mapped[str | None] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | completed | cancelled
    assignee: Mapped[str | None] = mapped_column(String(80))
    form_schema: Mapped[str | None] = mapped_column(String(200))
    form_ui_schema: Mapped[str | None] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(Text)
    excluded_users: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    candidates: Mapped[list["HumanTaskCandidate"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    __table_args__ = (
        Index("ix_human_task_instance", "instance_id", "state"),
        Index("ix_human_task_assignee", "assignee", "state", "created_at"),
        Index("ix_human_task_completed_by", "completed_by", "completed_at"),
        Index("ix_human_task_open_due", "state", "due_at"),
        # Reports (app/engine/reports.py): tasks open since before a cutoff, tasks of a period.
        Index("ix_human_task_state_created", "state", "created_at"),
    )

    @property
    def candidate_groups(self) -> list[str]:
        return sorted(c.group_name for c in self.candidates)


class HumanTaskCandidate(db.Model):
    """Candidate groups of a task, one row each so the inbox query is an index lookup."""

    __tablename__ = "human_task_candidate"
    task_id: Mapped[str] = mapped_column(
        ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    # Copied from the task so "open tasks of my groups" never touches closed ones.
    open: Mapped[bool] = mapped_column(default=True)
    __table_args__ = (Index("ix_candidate_group_open", "group_name", "open", "task_id"),)


class Job(db.Model):
    """Something due at a time: an instance's next timer, or an automatic retry."""

    __tablename__ = "job"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # timer | retry
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every acquisition; a worker whose lease was taken over cannot finish the job.
    fence: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("instance_id", "kind"),)


class MessageSubscription(db.Model):
    """A message an instance waits for, so an incoming message finds it by index."""

    __tablename__ = "message_subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    message_name: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    node_id: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (
        Index("ix_subscription_message_key", "message_name", "business_key"),
        Index("ix_subscription_instance", "instance_id"),
    )


class ProcessedMessage(db.Model):
    """Delivered message ids: the same message_id twice is applied once."""

    __tablename__ = "processed_message"
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Incident(db.Model):
    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | resolved
    node_id: Mapped[str | None] = mapped_column(String(200))
    node_name: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=1)
    retries_left: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    __table_args__ = (Index("ix_incident_status_instance", "status", "instance_id"),)


class InstanceEvent(db.Model):
    """The audit history: one row per step, who did it and which data changed."""

    __tablename__ = "instance_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    node_id: Mapped[str | None] = mapped_column(String(200))
    node_name: Mapped[str | None] = mapped_column(String(200))
    node_type: Mapped[str | None] = mapped_column(String(60))
    actor: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict | None] = mapped_column(JSON)
    __table_args__ = (
        Index("ix_event_instance", "instance_id", "id"),
        # Reports (app/engine/reports.py): a node's completions over a period (the heatmap).
        Index("ix_event_node_at", "node_id", "at"),
    )


class EngineCommand(db.Model):
    """Work a unit of work asks for beyond its own instance: start another process, send a
    message to one. Written in the unit's transaction, carried out after its commit by the job
    runner, so a rolled-back unit asks for nothing (a transactional outbox)."""

    __tablename__ = "engine_command"
    id: Mapped[int] = mapped_column(primary_key=True)
    # "start:<process>:<business key>" or "message:<message id>": asking twice is asking once.
    key: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # start | message
    payload: Mapped[dict] = mapped_column(JSON)
    source_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="SET NULL"))
    # pending → done | undelivered (nobody waits for the message) | failed (after retries)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_instance_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_engine_command_due", "status", "due_at"),)


class InstanceWait(db.Model):
    """Where each active instance stands now, one row per node (boundary events left out), and
    since when: the reports' index (stuck, heatmap counts, a node's instances) instead of
    expanding every active instance's waiting_at JSON. Written by the store with the state."""

    __tablename__ = "instance_wait"
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), primary_key=True)
    # "" with kind "none": active, and standing nowhere (nothing can move it: silent).
    node_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Copied from the instance so the reports filter and count without joining it.
    process_id: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # the instance's, kept in step
    kind: Mapped[str] = mapped_column(String(20))  # user_task | message | timer | event | none
    node_name: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(36))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (
        Index("ix_wait_since", "since"),
        Index("ix_wait_process_node", "process_id", "node_id", "status"),
        Index("ix_wait_node_since", "node_id", "since"),
        Index("ix_wait_kind_since", "kind", "since"),
    )


class NodeVisit(db.Model):
    """A finished stay at a wait node (from instance_wait when the instance moved on): the
    heatmap's time-spent figures are an aggregate over these instead of pairing history rows."""

    __tablename__ = "node_visit"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    process_id: Mapped[str] = mapped_column(String(200))
    node_id: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_visit_process_left", "process_id", "left_at", "node_id"),)
