"""trcli: a command-line companion for Twilio TaskRouter, with an offline sandbox."""

__version__ = "0.1.0"
