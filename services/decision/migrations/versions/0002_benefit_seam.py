"""benefit seam: signed states, monthly amounts, explanation, due date, one-application follow-ups

Revision ID: decision_0002
Revises: decision_0001
Create Date: 2026-11-26 09:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = 'decision_0002'
down_revision: Union[str, Sequence[str], None] = 'decision_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema; existing (burial) rows get their new columns from their case file."""
    op.add_column('decisions', sa.Column('amount_kind', sa.Text(), server_default='one_time', nullable=False), schema='decision')
    op.add_column('decisions', sa.Column('amount_known', sa.Boolean(), server_default=sa.text('true'), nullable=False), schema='decision')
    op.add_column('decisions', sa.Column('explanation', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False), schema='decision')
    op.add_column('decisions', sa.Column('applicant_iin', sa.Text(), nullable=True), schema='decision')
    op.add_column('decisions', sa.Column('due_by', sa.Date(), nullable=True), schema='decision')
    op.add_column('decisions', sa.Column('also_apply_for', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False), schema='decision')
    op.create_index(op.f('ix_decision_decisions_applicant_iin'), 'decisions', ['applicant_iin'], unique=False, schema='decision')
    op.create_index(op.f('ix_decision_decisions_due_by'), 'decisions', ['due_by'], unique=False, schema='decision')
    op.execute(
        "UPDATE decision.decisions SET "
        "applicant_iin = case_file->'application'->'applicant'->>'iin', "
        "due_by = (case_file->'application'->>'due_by')::date, "
        "also_apply_for = COALESCE(case_file->'application'->'also_apply_for', '[]'::jsonb)"
    )
    # 'signed' splits into the two signed states of the state machine.
    op.execute(
        "UPDATE decision.decisions SET status = CASE outcome WHEN 'assign' THEN 'assigned' ELSE 'refused' END "
        "WHERE status = 'signed'"
    )
    op.create_table('follow_ups',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('decision_id', sa.Uuid(), nullable=False),
    sa.Column('benefit', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id', 'benefit'),
    schema='decision'
    )
    op.create_index(op.f('ix_decision_follow_ups_status'), 'follow_ups', ['status'], unique=False, schema='decision')


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_decision_follow_ups_status'), table_name='follow_ups', schema='decision')
    op.drop_table('follow_ups', schema='decision')
    op.execute("UPDATE decision.decisions SET status = 'signed' WHERE status IN ('assigned', 'refused')")
    op.drop_index(op.f('ix_decision_decisions_due_by'), table_name='decisions', schema='decision')
    op.drop_index(op.f('ix_decision_decisions_applicant_iin'), table_name='decisions', schema='decision')
    op.drop_column('decisions', 'also_apply_for', schema='decision')
    op.drop_column('decisions', 'due_by', schema='decision')
    op.drop_column('decisions', 'applicant_iin', schema='decision')
    op.drop_column('decisions', 'explanation', schema='decision')
    op.drop_column('decisions', 'amount_known', schema='decision')
    op.drop_column('decisions', 'amount_kind', schema='decision')
