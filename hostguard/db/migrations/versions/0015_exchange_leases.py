"""hashing: the exchanges' fetch lease and the feedback's sending state (issue 14) (owned by hostguard.exchanges)

Revision ID: 0015_exchange_leases
Revises: 0014_exchanges
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0015_exchange_leases"
down_revision = "0014_exchanges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fetch_holder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("fetch_until", hostguard.db.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("exchange_feedback", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sending_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("exchange_feedback", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("sending_at")
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_column("fetch_until")
        batch_op.drop_column("fetch_holder")
