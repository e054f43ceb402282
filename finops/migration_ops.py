"""Migrations of many AlterField (the field labels of every model) applied with one re-render of the models.

Django re-renders a model and every model related to it after each AlterField of a migration; ours are all
related through Cluster, so each of the ~550 label changes re-rendered some twenty models: about two thirds
of a fresh database's `migrate` (each test database of each test worker). AlterFields applies a run of
AlterField operations as they are, one after the other, to the state and then re-renders the models once;
the database sees each AlterField as before (schema_editor.alter_field between the states before and after
the run, which differ in that field as they did around its own operation). The schema, the state and the
SQL are those of the plain operations.
"""

from __future__ import annotations

from django.db import migrations


class AlterFields(migrations.operations.base.Operation):
    """Several AlterField, each of a different field, with one re-render of the models they touch."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, operations):
        self.operations = list(operations)
        fields = [(op.model_name_lower, op.name_lower) for op in self.operations]
        if not all(isinstance(op, migrations.AlterField) for op in self.operations):
            raise TypeError("AlterFields holds AlterField operations only")
        if len(set(fields)) != len(fields):
            raise ValueError("AlterFields alters each field once")

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operations], {})

    def state_forwards(self, app_label, state):
        # Without the rendered models each AlterField only changes the model states (ProjectState.reload_model
        # renders nothing when no apps are rendered); then the models they touch are rendered again at once,
        # with all their relations (as AlterField of a related field does).
        apps = state.__dict__.pop("apps", None)
        try:
            for operation in self.operations:
                operation.state_forwards(app_label, state)
        finally:
            if apps is not None:
                state.__dict__["apps"] = apps
        state.reload_models({(app_label, op.model_name_lower) for op in self.operations}, delay=False)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._one_change_a_table(app_label, schema_editor, from_state, to_state)
        for operation in self.operations:
            operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._one_change_a_table(app_label, schema_editor, to_state, from_state)
        for operation in reversed(self.operations):
            operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def _one_change_a_table(self, app_label, schema_editor, before, after):
        """Each AlterField alters its field from the model before the run: a second change of the same
        table in the run (SQLite remakes the table from that model) would undo the first. Labels change
        no table; a run with two changes of one table must be split."""
        changed = set()
        for op in self.operations:
            old = before.apps.get_model(app_label, op.model_name)._meta.get_field(op.name)
            new = after.apps.get_model(app_label, op.model_name)._meta.get_field(op.name)
            if schema_editor._field_should_be_altered(old, new):
                if op.model_name_lower in changed:
                    raise ValueError(f"AlterFields changes the table of {op.model_name} twice: split the run")
                changed.add(op.model_name_lower)

    def references_model(self, name, app_label):
        return any(op.references_model(name, app_label) for op in self.operations)

    def references_field(self, model_name, name, app_label):
        return any(op.references_field(model_name, name, app_label) for op in self.operations)

    def describe(self):
        return f"Alter {len(self.operations)} fields: " + ", ".join(
            f"{op.model_name}.{op.name}" for op in self.operations
        )

    @property
    def migration_name_fragment(self):
        return "alter_fields"


def alter_fields_together(operations: list) -> list:
    """The operations of a migration in their order, each run of AlterField (a field at most once a run) as
    one AlterFields."""
    out: list = []
    run: list = []
    for operation in operations:
        field = (operation.model_name_lower, operation.name_lower) if _alters(operation) else None
        if field is None or field in {(op.model_name_lower, op.name_lower) for op in run}:
            out.extend(_closed(run))
            run = []
        if field is None:
            out.append(operation)
        else:
            run.append(operation)
    out.extend(_closed(run))
    return out


def _alters(operation) -> bool:
    return type(operation) is migrations.AlterField


def _closed(run: list) -> list:
    return [AlterFields(run)] if len(run) > 1 else list(run)
