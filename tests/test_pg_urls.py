"""A PostgreSQL URL's password never reaches a message, however it is written."""

import pytest

from paperscope.store.pg import redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ann:hunter2@db.example/papers", "postgresql://ann:***@db.example/papers"),
        # an "@" left unencoded in the password: "ss@db..." was shown
        ("postgresql://ann:p@ss@db.example/papers", "postgresql://ann:***@db.example/papers"),
        ("postgresql://ann:p%40ss@db.example/papers", "postgresql://ann:***@db.example/papers"),
        ("postgresql://ann@db.example/papers", "postgresql://ann@db.example/papers"),
        ("postgresql:///papers?host=/run/pg", "postgresql:///papers?host=/run/pg"),
        (
            "postgresql://ann:x@/papers?host=/run/pg&user=a@b",
            "postgresql://ann:***@/papers?host=/run/pg&user=a@b",
        ),
        (
            "from postgresql://a:b@h1/x to postgresql://c:d@e@h2/y",
            "from postgresql://a:***@h1/x to postgresql://c:***@h2/y",
        ),
    ],
)
def test_redact_hides_the_whole_password(url, shown):
    assert redact(url) == shown
