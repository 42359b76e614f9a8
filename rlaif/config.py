"""`rlaif.config`, the name the README's Python tour and users' scripts import: the same module
object as `rlaif.core.config`, where the configuration lives."""

import sys

from .core import config

sys.modules[__name__] = config
