"""qwen-advisor: which Qwen model to run, on what, how, and how fast."""

__version__ = "0.1.0"
