"""cases: moderation tools (issue 16) (owned by hostguard.cases)

Claim leases: `cases.claim_active_at`, the holder's last activity on a claimed case.

Revision ID: 0012_moderation
Revises: 0011_matching
"""

import sqlalchemy as sa
from alembic import op

from hostguard.db.types import UTCDateTime

revision = "0012_moderation"
down_revision = "0011_matching"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("claim_active_at", UTCDateTime(timezone=True), nullable=True))
    # a claim held before leases existed starts its lease when it was claimed
    op.execute("UPDATE cases SET claim_active_at = claimed_at WHERE assigned_to IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("claim_active_at")
