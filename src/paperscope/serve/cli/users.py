"""(being written)"""

from paperscope.serve.cli import app  # noqa: F401
