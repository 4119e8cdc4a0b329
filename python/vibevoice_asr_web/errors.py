"""Errors a user can act on: the CLI prints them as one message, without a traceback."""


class UserError(Exception):
    """Bad input or a missing prerequisite. The message says what was expected and what to do."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP: raised in the main thread so that every `finally` (partial folders, scratch) runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
