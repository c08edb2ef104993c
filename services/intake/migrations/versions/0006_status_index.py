"""open cases by status and due date: the SLA view and the case gauges read only open applications

Revision ID: intake_status_index
Revises: intake_wake_notify
Create Date: 2026-12-08 01:10:00.000000

"""
from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'intake_status_index'
down_revision: Union[str, Sequence[str], None] = 'intake_wake_notify'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # A plain build locks writes to applications while it runs: on a large table, build it first by hand
    # with CREATE INDEX CONCURRENTLY under this name, and this revision finds it there (IF NOT EXISTS).
    op.create_index('ix_applications_status_due_by', 'applications', ['status', 'due_by'], unique=False,
                    schema='intake', if_not_exists=True)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_applications_status_due_by', table_name='applications', schema='intake')
