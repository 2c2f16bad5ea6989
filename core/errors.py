"""The one exception type for mistakes a user can cause.

Messages say what went wrong *and* what to do about it. Nodes and the CLI show
them as they are (the CLI prints one line and exits with status 2).
"""


class SketchError(ValueError):
    """Bad input, missing model, wrong frame count, out of memory, ... (user-fixable)."""
