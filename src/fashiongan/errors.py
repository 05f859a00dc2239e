"""The one exception type the CLI turns into a one-line message and exit code 2."""


class UserError(Exception):
    """Bad input from the user (files, config, arguments): shown as one line, no traceback."""
