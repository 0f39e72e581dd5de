"""Validators: reusable checks that ingestors list in ``validators = [...]``."""

from .base import Validator
from .builtin import FileTypeValidator, TableNameValidator

__all__ = ["Validator", "FileTypeValidator", "TableNameValidator"]
