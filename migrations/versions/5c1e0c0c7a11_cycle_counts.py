"""cycle counts

Revision ID: 5c1e0c0c7a11
Revises: e27c4f6e07eb
"""
import sqlalchemy as sa
from alembic import op

import app.models.types

revision = "5c1e0c0c7a11"
down_revision = "e27c4f6e07eb"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cycle_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("bins", sa.JSON(), nullable=False),
        sa.Column("skus", sa.JSON(), nullable=True),
        sa.Column("frozen_ledger_id", sa.Integer(), nullable=False),
        sa.Column("frozen_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("tolerance", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("process_instance_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=12), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("decision_comment", sa.String(length=500), nullable=True),
        sa.Column("completed_at", app.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_cycle_count_warehouse_status", "cycle_count",
                    ["warehouse_id", "status"], unique=False)
    op.create_table(
        "cycle_count_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("bin_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("expected_qty", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("expected_serials", sa.JSON(), nullable=True),
        sa.Column("counted_qty", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("counted_serials", sa.JSON(), nullable=True),
        sa.Column("counted_by", sa.String(length=80), nullable=True),
        sa.Column("counted_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("recount_qty", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("recount_serials", sa.JSON(), nullable=True),
        sa.Column("recounted_by", sa.String(length=80), nullable=True),
        sa.Column("recounted_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("book_qty", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("book_serials", sa.JSON(), nullable=True),
        sa.Column("moved_qty", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("variance_qty", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("missing_serials", sa.JSON(), nullable=True),
        sa.Column("extra_serials", sa.JSON(), nullable=True),
        sa.Column("unit_value", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("variance_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("within_tolerance", sa.Boolean(), nullable=True),
        sa.Column("adjustment_ids", sa.JSON(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["bin_id"], ["bin.id"]),
        sa.ForeignKeyConstraint(["count_id"], ["cycle_count.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("count_id", "line_no"),
    )
    op.create_index("ix_cycle_count_line_bin", "cycle_count_line", ["count_id", "bin_id"],
                    unique=False)
    op.create_index("ix_cycle_count_line_open", "cycle_count_line",
                    ["bin_id", "product_id", "status"], unique=False)


def downgrade():
    op.drop_index("ix_cycle_count_line_open", table_name="cycle_count_line")
    op.drop_index("ix_cycle_count_line_bin", table_name="cycle_count_line")
    op.drop_table("cycle_count_line")
    op.drop_index("ix_cycle_count_warehouse_status", table_name="cycle_count")
    op.drop_table("cycle_count")
