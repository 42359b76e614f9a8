"""rlaif: align language models with AI feedback (RLAIF), human feedback (RLHF), or both.

Importing the package is cheap: torch, transformers and servers load only when a stage runs."""

__version__ = "0.1.0"
