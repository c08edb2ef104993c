"""jobs keep the trace context they were enqueued in (W3C traceparent, common/tracing.py)

Revision ID: payment_queue_job_traceparent
Revises: payment_queue_wake_notify
Create Date: 2026-12-07 12:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'payment_queue_job_traceparent'
down_revision: Union[str, Sequence[str], None] = 'payment_queue_wake_notify'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SCHEMA = 'payment_queue'
TABLE = 'payment_orders'


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(TABLE, sa.Column('traceparent', sa.Text(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column(TABLE, 'traceparent', schema=SCHEMA)
