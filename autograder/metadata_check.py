"""nbgrader's check of the cells' grading metadata, with its JSON schema checked once per process.

nbgrader validates every cell's ``nbgrader`` metadata with ``jsonschema.validate(metadata, schema)``,
which first checks the *schema* against its meta-schema and builds a new validator: about 0.1 s
per notebook, run twice per submission (sanitizing, then after grading), for a schema that never
changes. :class:`CheckCellMetadata` runs nbgrader's own preprocessor unchanged, with
``jsonschema.validate`` answered by a validator built (and its schema checked) once per schema:
the same errors for the same metadata. nbgrader_config.py lists it in place of nbgrader's.
"""

import contextlib
import functools
import json

import jsonschema
from jsonschema.exceptions import best_match
from nbgrader.preprocessors import CheckCellMetadata as StockCheckCellMetadata


@functools.lru_cache(maxsize=8)
def _validator(schema_text):
    """A validator of the schema given as canonical JSON text, its schema checked (once)."""
    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(instance, schema, *args, **kwargs):
    """``jsonschema.validate(instance, schema)``: raises the same best-matching ValidationError."""
    if args or kwargs:  # another caller's options: jsonschema's own function
        return _STOCK_VALIDATE(instance, schema, *args, **kwargs)
    error = best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(instance))
    if error is not None:
        raise error


_STOCK_VALIDATE = jsonschema.validate


@contextlib.contextmanager
def _schema_checked_once():
    jsonschema.validate = validate
    try:
        yield
    finally:
        jsonschema.validate = _STOCK_VALIDATE


class CheckCellMetadata(StockCheckCellMetadata):
    """nbgrader's CheckCellMetadata, validating against a schema checked once per process."""

    def preprocess(self, nb, resources):
        with _schema_checked_once():
            return super().preprocess(nb, resources)
