"""The ``reportgen`` command line: thin verbs over the library.

``app`` holds the group and what the verbs share; each verb module registers its
commands on it when imported.
"""

from reportgen.cli import build, delivery, load  # noqa: F401 (registers the verbs)
from reportgen.cli.app import main

__all__ = ["main"]
