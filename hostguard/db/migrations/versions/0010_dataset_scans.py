"""datasets: dataset scans, shard results and attestations (issue 15) (owned by hostguard.datasets)

Revision ID: 0010_dataset_scans
Revises: 0009_hotline_flaggers
"""

revision = "0010_dataset_scans"
down_revision = "0009_hotline_flaggers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
