"""benefit seam: claims for every benefit, parked events, documents, requested documents, term state

Revision ID: intake_0002
Revises: intake_0001
Create Date: 2026-11-26 10:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = 'intake_0002'
down_revision: Union[str, Sequence[str], None] = 'intake_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema; burial claims move to the generic claims table, stored documents to their own column."""
    op.add_column('applications', sa.Column('documents', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False), schema='intake')
    op.add_column('applications', sa.Column('requested_documents', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False), schema='intake')
    op.add_column('applications', sa.Column('term_automated', sa.Boolean(), server_default=sa.text('false'), nullable=False), schema='intake')
    op.add_column('applications', sa.Column('extension_days', sa.Integer(), server_default=sa.text('0'), nullable=False), schema='intake')
    op.execute("UPDATE intake.applications SET documents = COALESCE(body->'documents', '[]'::jsonb)")
    op.create_table('claims',
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['intake.applications.id'], ),
    sa.PrimaryKeyConstraint('key'),
    schema='intake'
    )
    op.create_index(op.f('ix_intake_claims_application_id'), 'claims', ['application_id'], unique=False, schema='intake')
    op.execute(
        "INSERT INTO intake.claims (key, application_id, subject, state, claimed_at) "
        "SELECT 'burial:' || deceased_iin, application_id, NULL, state, claimed_at FROM intake.deceased_claims"
    )
    op.drop_table('deceased_claims', schema='intake')
    op.create_table('parked_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('envelope', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('parked_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['intake.applications.id'], ),
    sa.PrimaryKeyConstraint('id'),
    schema='intake'
    )
    op.create_index(op.f('ix_intake_parked_events_application_id'), 'parked_events', ['application_id'], unique=False, schema='intake')


def downgrade() -> None:
    """Downgrade schema; only burial claims have a place in the old table."""
    op.drop_index(op.f('ix_intake_parked_events_application_id'), table_name='parked_events', schema='intake')
    op.drop_table('parked_events', schema='intake')
    op.create_table('deceased_claims',
    sa.Column('deceased_iin', sa.Text(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['intake.applications.id'], ),
    sa.PrimaryKeyConstraint('deceased_iin'),
    schema='intake'
    )
    op.execute(
        "INSERT INTO intake.deceased_claims (deceased_iin, application_id, state, claimed_at) "
        "SELECT substr(key, 8), application_id, state, claimed_at FROM intake.claims WHERE key LIKE 'burial:%'"
    )
    op.drop_index(op.f('ix_intake_claims_application_id'), table_name='claims', schema='intake')
    op.drop_table('claims', schema='intake')
    op.drop_column('applications', 'extension_days', schema='intake')
    op.drop_column('applications', 'term_automated', schema='intake')
    op.drop_column('applications', 'requested_documents', schema='intake')
    op.drop_column('applications', 'documents', schema='intake')
