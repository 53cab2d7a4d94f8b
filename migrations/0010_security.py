from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from store.models import Role

# Roles become viewer / trader / admin: every "user" was allowed to run and write, so becomes a
# trader. Exchange keys gain their envelope (the wrapped data key and its master key's id) and a
# mask; the audit log gains who it was, how it ended and the request it came from.


class AlterFieldState(ops.AlterField):
    """Changes the field in the migration state only. The column (varchar 16) is unchanged, and
    on SQLite a real AlterField rebuilds the table: dropping the old ``users`` would cascade
    into every row that references it."""

    async def database_forward(self, *args, **kwargs) -> None:
        return None

    async def database_backward(self, *args, **kwargs) -> None:
        return None


async def users_become_traders(apps, schema_editor):
    client = schema_editor.client
    await client.execute_query("UPDATE users SET role = 'trader' WHERE role = 'user'")
    if client.capabilities.dialect == "postgres":
        await client.execute_query("ALTER TABLE users ALTER COLUMN role SET DEFAULT 'trader'")


async def audit_log_append_only(apps, schema_editor):
    """On PostgreSQL a trigger refuses UPDATE and DELETE of audit rows (a user's deletion
    still clears ``user_id``: that is the foreign key's own SET NULL, allowed)."""
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    await client.execute_script("""
        CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.user_id IS NULL AND OLD.user_id IS NOT NULL
               AND NEW.action = OLD.action AND NEW.created_at = OLD.created_at
               AND NEW.details = OLD.details AND NEW.outcome = OLD.outcome THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'audit_log is append-only';
        END $$ LANGUAGE plpgsql;
        DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    """)


class Migration(migrations.Migration):
    dependencies = [('models', '0009_sessions')]

    initial = False

    operations = [
        AlterFieldState(
            model_name='User',
            name='role',
            field=fields.CharEnumField(default=Role.TRADER, description='VIEWER: viewer\nTRADER: trader\nADMIN: admin', enum_type=Role, max_length=16),
        ),
        ops.RunPython(users_become_traders),
        ops.AddField(model_name='ExchangeCredential', name='wrapped_key',
                     field=fields.BinaryField(null=True)),
        ops.AddField(model_name='ExchangeCredential', name='master_key_id',
                     field=fields.CharField(default='', max_length=64)),
        ops.AddField(model_name='ExchangeCredential', name='key_mask',
                     field=fields.CharField(default='', max_length=16)),
        ops.AddField(model_name='ExchangeCredential', name='last_used_at',
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.AddField(model_name='AuditLog', name='actor_email',
                     field=fields.CharField(default='', max_length=254)),
        ops.AddField(model_name='AuditLog', name='outcome',
                     field=fields.CharField(default='ok', max_length=16)),
        ops.AddField(model_name='AuditLog', name='request_id',
                     field=fields.CharField(null=True, max_length=64)),
        ops.AddIndex(model_name='AuditLog', index=Index(fields=['action', 'created_at'])),
        ops.AddIndex(model_name='AuditLog', index=Index(fields=['user_id', 'created_at'])),
        ops.AlterModelOptions(
            name='AuditLog',
            options={'table': 'audit_log', 'app': 'models', 'indexes': (('action', 'created_at'), ('user_id', 'created_at')), 'pk_attr': 'id', 'table_description': 'Who did what to which object, when, from where, and how it ended (append-only: nothing'},
        ),
        ops.AlterModelOptions(
            name='ExchangeCredential',
            options={'table': 'exchange_credentials', 'app': 'models', 'unique_together': (('owner', 'exchange', 'label'),), 'pk_attr': 'id', 'table_description': "A user's API key for an exchange, encrypted at rest by envelope encryption."},
        ),
        ops.RunPython(audit_log_append_only),
    ]
