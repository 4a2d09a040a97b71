"""Errors a user can act on: one-line messages the CLI prints without a traceback."""


class RcmError(Exception):
    """A failure with a one-line, PHI-free reason, shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
