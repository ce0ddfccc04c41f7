"""cases: moderation tools (issue 16) (owned by hostguard.cases)

Revision ID: 0012_moderation
Revises: 0011_matching
"""

revision = "0012_moderation"
down_revision = "0011_matching"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
