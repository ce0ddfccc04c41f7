"""cases: hotline filings, preservation and the trusted-flagger register (issue 13) (owned by hostguard.cases)

Revision ID: 0009_hotline_flaggers
Revises: 0008_statement_submissions
"""

revision = "0009_hotline_flaggers"
down_revision = "0008_statement_submissions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
