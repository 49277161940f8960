"""pytest-sipfront: run Sipfront SIP/VoIP tests as a pytest gate."""

__version__ = "0.1.0"
