"""The import machinery of FORMATS.md: one reader, one schema per file kind, all or nothing."""

from .engine import ImportReport, run_import  # noqa: F401
from .reader import ImportFileError, read_table  # noqa: F401
