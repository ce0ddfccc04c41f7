"""hashing: matching changes (issue 18) (owned by hostguard.hashing)

Revision ID: 0011_matching
Revises: 0010_dataset_scans
"""

revision = "0011_matching"
down_revision = "0010_dataset_scans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
