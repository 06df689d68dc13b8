"""gonet: a Go-playing agent and AlphaGo-style policy-network trainer."""

__version__ = "0.1.0"
