"""Outgoing email: SMTP settings from the environment, sending, and the paper digests."""
