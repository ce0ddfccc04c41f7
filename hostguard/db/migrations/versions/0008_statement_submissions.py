"""cases: Transparency Database submission state of each statement (issue 13) (owned by hostguard.cases)

Revision ID: 0008_statement_submissions
Revises: 0007_notice_item_location
"""

revision = "0008_statement_submissions"
down_revision = "0007_notice_item_location"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
