"""notice-and-action: notices, orders, decisions, appeals, outbox (owned by hostguard.cases)

Revision ID: 0004_cases
Revises: 0003_uploads
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import hostguard.db.types  # noqa: F401

revision = "0004_cases"
down_revision = "0003_uploads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
