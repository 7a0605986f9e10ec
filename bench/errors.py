"""The one error type the CLI turns into a one-line message and exit status 2."""


class UsageError(Exception):
    """Bad input: an unknown name, a device that is not here, a broken results file.

    The message names the problem and the valid choices, on one line.
    """


def one_line(text: object) -> str:
    """The first non-empty line of ``text`` (errors and warnings are recorded on one line)."""
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")
