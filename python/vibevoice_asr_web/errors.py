"""Errors a user can act on: the CLI prints them as one message, without a traceback."""


class UserError(Exception):
    """Bad input or a missing prerequisite. The message says what was expected and what to do."""
