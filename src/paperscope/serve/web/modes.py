"""What the server can do in its current mode, so that pages offer only features that work.

Email (password reset links, digests) needs an SMTP server (PAPERSCOPE_SMTP_URL); the local
user of single-user mode has no mailbox (local@localhost) and nothing to delete itself from.
"""

from __future__ import annotations

from paperscope.errors import InputError
from paperscope.serve.email.config import mail_config_from_env
from paperscope.store.accounts import LOCAL_EMAIL, User


def mail_ready() -> bool:
    """An SMTP server is configured (read per call: tests and operators change it)."""
    try:
        mail_config_from_env()
    except InputError:
        return False
    return True


def has_mailbox(user: User | None) -> bool:
    return user is not None and user.email != LOCAL_EMAIL


def digest_possible(user: User | None) -> bool:
    """A digest could reach this user: mail is configured and they have a real address."""
    return has_mailbox(user) and mail_ready()


def template_globals() -> dict:
    return {"mail_ready": mail_ready, "digest_possible": digest_possible}
