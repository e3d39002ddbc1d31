"""quality records: return/exchange, customer files and follow-ups, surveys and corrective
actions, safety inspections, findings and rectifications

Revision ID: b4quality01
Revises: 9418cd5d80b2
Create Date: 2026-11-26 22:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b4quality01"
down_revision = "9418cd5d80b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('safety_inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('inspected_at', sa.DateTime(), nullable=True),
    sa.Column('inspector', sa.String(length=100), nullable=False),
    sa.Column('electrical_result', sa.String(length=10), nullable=False),
    sa.Column('fire_result', sa.String(length=10), nullable=False),
    sa.Column('equipment_result', sa.String(length=10), nullable=False),
    sa.Column('environment_result', sa.String(length=10), nullable=False),
    sa.Column('warehouse_result', sa.String(length=10), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('acceptance_comment', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_inspections')),
    sa.UniqueConstraint('number', name=op.f('uq_safety_inspections_number')),
    sa.UniqueConstraint('period', name=op.f('uq_safety_inspections_period'))
    )
    op.create_index(op.f('ix_safety_inspections_instance_id'), 'safety_inspections', ['instance_id'], unique=False)
    op.create_table('customer_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('contact_person', sa.String(length=100), nullable=False),
    sa.Column('products', sa.Text(), nullable=False),
    sa.Column('potential_needs', sa.Text(), nullable=False),
    sa.Column('next_call_topic', sa.Text(), nullable=False),
    sa.Column('prior_year_revenue', sa.Float(), nullable=False),
    sa.Column('strategic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_files_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_files')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_customer_files_customer_id'))
    )
    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('customer_tier', sa.String(length=20), nullable=False),
    sa.Column('source_process', sa.String(length=50), nullable=False),
    sa.Column('source_case_no', sa.String(length=40), nullable=False),
    sa.Column('reference_at', sa.DateTime(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('window_opens_at', sa.DateTime(), nullable=False),
    sa.Column('call_due_at', sa.DateTime(), nullable=False),
    sa.Column('called_at', sa.DateTime(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('next_number', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_followups_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups')),
    sa.UniqueConstraint('number', name=op.f('uq_followups_number'))
    )
    op.create_index(op.f('ix_followups_customer_id'), 'followups', ['customer_id'], unique=False)
    op.create_index(op.f('ix_followups_instance_id'), 'followups', ['instance_id'], unique=False)
    op.create_index(op.f('ix_followups_source_case_no'), 'followups', ['source_case_no'], unique=False)
    op.create_table('return_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('request_kind', sa.String(length=20), nullable=False),
    sa.Column('customer_address', sa.String(length=300), nullable=False),
    sa.Column('product_model', sa.String(length=100), nullable=False),
    sa.Column('serial_no', sa.String(length=100), nullable=False),
    sa.Column('product_grade', sa.String(length=20), nullable=False),
    sa.Column('purchase_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('days_since_purchase', sa.Integer(), nullable=False),
    sa.Column('goods_condition', sa.String(length=30), nullable=False),
    sa.Column('inspection_notes', sa.Text(), nullable=False),
    sa.Column('policy_eligible', sa.Boolean(), nullable=True),
    sa.Column('policy_rule', sa.String(length=200), nullable=False),
    sa.Column('approval_level', sa.String(length=30), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=True),
    sa.Column('approval_comment', sa.Text(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('refund_amount', sa.Float(), nullable=True),
    sa.Column('refund_method', sa.String(length=30), nullable=False),
    sa.Column('replacement_serial_no', sa.String(length=100), nullable=False),
    sa.Column('returned_goods_disposition', sa.String(length=30), nullable=False),
    sa.Column('carried_out_at', sa.DateTime(), nullable=True),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.Column('satisfaction_score', sa.Integer(), nullable=True),
    sa.Column('customer_feedback', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_return_requests_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_requests')),
    sa.UniqueConstraint('number', name=op.f('uq_return_requests_number'))
    )
    op.create_index(op.f('ix_return_requests_customer_id'), 'return_requests', ['customer_id'], unique=False)
    op.create_index(op.f('ix_return_requests_instance_id'), 'return_requests', ['instance_id'], unique=False)
    op.create_table('safety_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('responsible', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['safety_inspections.id'], name=op.f('fk_safety_findings_inspection_id_safety_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_findings')),
    sa.UniqueConstraint('inspection_id', 'seq', name='uq_safety_findings_seq')
    )
    op.create_index(op.f('ix_safety_findings_inspection_id'), 'safety_findings', ['inspection_id'], unique=False)
    op.create_table('satisfaction_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('source_process', sa.String(length=50), nullable=False),
    sa.Column('source_case_no', sa.String(length=40), nullable=False),
    sa.Column('prior_year_revenue', sa.Float(), nullable=False),
    sa.Column('strategic', sa.Boolean(), nullable=False),
    sa.Column('key_customer', sa.Boolean(), nullable=True),
    sa.Column('key_reason', sa.String(length=100), nullable=False),
    sa.Column('overall_score', sa.Integer(), nullable=True),
    sa.Column('timeliness_score', sa.Integer(), nullable=True),
    sa.Column('quality_score', sa.Integer(), nullable=True),
    sa.Column('attitude_score', sa.Integer(), nullable=True),
    sa.Column('problem_category', sa.String(length=30), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.Column('recurring', sa.Boolean(), nullable=True),
    sa.Column('prior_occurrences', sa.Integer(), nullable=False),
    sa.Column('key_review', sa.Text(), nullable=False),
    sa.Column('analysis', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('capa_required', sa.Boolean(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('surveyed_at', sa.DateTime(), nullable=True),
    sa.Column('analysed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_satisfaction_surveys_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_surveys')),
    sa.UniqueConstraint('number', name=op.f('uq_satisfaction_surveys_number'))
    )
    op.create_index(op.f('ix_satisfaction_surveys_customer_id'), 'satisfaction_surveys', ['customer_id'], unique=False)
    op.create_index(op.f('ix_satisfaction_surveys_instance_id'), 'satisfaction_surveys', ['instance_id'], unique=False)
    op.create_index(op.f('ix_satisfaction_surveys_problem_category'), 'satisfaction_surveys', ['problem_category'], unique=False)
    op.create_index(op.f('ix_satisfaction_surveys_source_case_no'), 'satisfaction_surveys', ['source_case_no'], unique=False)
    op.create_table('corrective_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=30), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('responsible_department', sa.String(length=50), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('implementation', sa.Text(), nullable=False),
    sa.Column('implemented_at', sa.DateTime(), nullable=True),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('effective', sa.Boolean(), nullable=True),
    sa.Column('verification_comment', sa.Text(), nullable=False),
    sa.Column('verified_at', sa.DateTime(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('management_decision', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('customer_informed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_corrective_actions_customer_id_customers')),
    sa.ForeignKeyConstraint(['survey_id'], ['satisfaction_surveys.id'], name=op.f('fk_corrective_actions_survey_id_satisfaction_surveys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrective_actions')),
    sa.UniqueConstraint('number', name=op.f('uq_corrective_actions_number'))
    )
    op.create_index(op.f('ix_corrective_actions_customer_id'), 'corrective_actions', ['customer_id'], unique=False)
    op.create_index(op.f('ix_corrective_actions_survey_id'), 'corrective_actions', ['survey_id'], unique=False)
    op.create_table('followup_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contact_log_id', sa.Integer(), nullable=False),
    sa.Column('called_at', sa.DateTime(), nullable=False),
    sa.Column('reached', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('satisfaction_score', sa.Integer(), nullable=True),
    sa.Column('customer_request', sa.Text(), nullable=False),
    sa.Column('request_answered', sa.Boolean(), nullable=False),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['contact_log_id'], ['contact_logs.id'], name=op.f('fk_followup_calls_contact_log_id_contact_logs')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_followup_calls_customer_id_customers')),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_followup_calls_followup_id_followups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_calls'))
    )
    op.create_index(op.f('ix_followup_calls_customer_id'), 'followup_calls', ['customer_id'], unique=False)
    op.create_index(op.f('ix_followup_calls_followup_id'), 'followup_calls', ['followup_id'], unique=False)
    op.create_table('safety_rectifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=50), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('deadline_days', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('action_taken', sa.Text(), nullable=False),
    sa.Column('rectified_by', sa.String(length=100), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['safety_findings.id'], name=op.f('fk_safety_rectifications_finding_id_safety_findings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_rectifications')),
    sa.UniqueConstraint('finding_id', name=op.f('uq_safety_rectifications_finding_id')),
    sa.UniqueConstraint('number', name=op.f('uq_safety_rectifications_number'))
    )
    op.create_table('followup_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('report_due_at', sa.DateTime(), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=True),
    sa.Column('reported_late', sa.Boolean(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['followup_calls.id'], name=op.f('fk_followup_requests_call_id_followup_calls')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_followup_requests_customer_id_customers')),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_followup_requests_followup_id_followups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_requests'))
    )
    op.create_index(op.f('ix_followup_requests_customer_id'), 'followup_requests', ['customer_id'], unique=False)
    op.create_index(op.f('ix_followup_requests_followup_id'), 'followup_requests', ['followup_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_followup_requests_followup_id'), table_name='followup_requests')
    op.drop_index(op.f('ix_followup_requests_customer_id'), table_name='followup_requests')
    op.drop_table('followup_requests')
    op.drop_table('safety_rectifications')
    op.drop_index(op.f('ix_followup_calls_followup_id'), table_name='followup_calls')
    op.drop_index(op.f('ix_followup_calls_customer_id'), table_name='followup_calls')
    op.drop_table('followup_calls')
    op.drop_index(op.f('ix_corrective_actions_survey_id'), table_name='corrective_actions')
    op.drop_index(op.f('ix_corrective_actions_customer_id'), table_name='corrective_actions')
    op.drop_table('corrective_actions')
    op.drop_index(op.f('ix_satisfaction_surveys_source_case_no'), table_name='satisfaction_surveys')
    op.drop_index(op.f('ix_satisfaction_surveys_problem_category'), table_name='satisfaction_surveys')
    op.drop_index(op.f('ix_satisfaction_surveys_instance_id'), table_name='satisfaction_surveys')
    op.drop_index(op.f('ix_satisfaction_surveys_customer_id'), table_name='satisfaction_surveys')
    op.drop_table('satisfaction_surveys')
    op.drop_index(op.f('ix_safety_findings_inspection_id'), table_name='safety_findings')
    op.drop_table('safety_findings')
    op.drop_index(op.f('ix_return_requests_instance_id'), table_name='return_requests')
    op.drop_index(op.f('ix_return_requests_customer_id'), table_name='return_requests')
    op.drop_table('return_requests')
    op.drop_index(op.f('ix_followups_source_case_no'), table_name='followups')
    op.drop_index(op.f('ix_followups_instance_id'), table_name='followups')
    op.drop_index(op.f('ix_followups_customer_id'), table_name='followups')
    op.drop_table('followups')
    op.drop_table('customer_files')
    op.drop_index(op.f('ix_safety_inspections_instance_id'), table_name='safety_inspections')
    op.drop_table('safety_inspections')
