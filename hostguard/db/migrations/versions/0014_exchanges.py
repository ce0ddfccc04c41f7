"""hashing: hash exchanges, checkpoints, suppressions and feedback (issue 14) (owned by hostguard.hashing)

Revision ID: 0014_exchanges
Revises: 0013_integration
"""

revision = "0014_exchanges"
down_revision = "0013_integration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
