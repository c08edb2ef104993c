"""wake, don't poll: NOTIFY payment_queue_outbox / payment_queue_jobs from the writing transaction (common/wake.py)

Revision ID: payment_queue_wake_notify
Revises: payment_queue_audit_log
Create Date: 2026-12-01 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op

from common.wake import notify_ddl, notify_drop_ddl

# revision identifiers, used by Alembic.
revision: str = 'payment_queue_wake_notify'
down_revision: Union[str, Sequence[str], None] = 'payment_queue_audit_log'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SCHEMA = 'payment_queue'
# Job tables and the statuses a worker claims them in (frozen here: a later change gets its own revision).
JOBS: dict[str, tuple[str, ...]] = {'payment_orders': ('pending', 'placed')}


def upgrade() -> None:
    """Upgrade schema."""
    for statement in notify_ddl(SCHEMA, JOBS):
        op.execute(statement)


def downgrade() -> None:
    """Downgrade schema."""
    for statement in notify_drop_ddl(SCHEMA, JOBS):
        op.execute(statement)
