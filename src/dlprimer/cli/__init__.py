"""The command line: ``dlprimer datasets | fit | evaluate | predict | explain``."""

from dlprimer.cli.main import main

__all__ = ["main"]
