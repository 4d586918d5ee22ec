"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class RficatError(Exception):
    """A problem the user can fix: bad input, unreachable database, missing model.

    The message names the file or setting and the problem, in one line.
    """
