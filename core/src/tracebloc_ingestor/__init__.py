"""tracebloc-ingestor: move data into a tracebloc training environment; only metadata leaves."""

from .markers import hookimpl

__version__ = "1.0.0.dev0"
__all__ = ["hookimpl"]
