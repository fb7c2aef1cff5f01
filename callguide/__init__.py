"""CallGuide: guided, audited vulnerability protocols for collection calls."""

__version__ = "0.1.0"
