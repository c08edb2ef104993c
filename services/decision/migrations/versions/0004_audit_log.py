"""audit log: append-only, hash-chained record of who read or changed which case (common/audit.py)

Revision ID: decision_audit_log
Revises: decision_messaging_poison
Create Date: 2026-11-25 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op

from common.audit import audit_log_ddl, audit_log_drop_ddl

# revision identifiers, used by Alembic.
revision: str = 'decision_audit_log'
down_revision: Union[str, Sequence[str], None] = 'decision_messaging_poison'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SCHEMA = 'decision'


def upgrade() -> None:
    """Upgrade schema."""
    for statement in audit_log_ddl(SCHEMA):
        op.execute(statement)


def downgrade() -> None:
    """Downgrade schema."""
    for statement in audit_log_drop_ddl(SCHEMA):
        op.execute(statement)
