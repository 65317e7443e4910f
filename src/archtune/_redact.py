"""Hide the password of a storage URL before it reaches any output."""

from __future__ import annotations

import re

__all__ = ["redact_text", "redact_url"]

_HIDDEN = "***"
# ``scheme://user:password@`` when SQLAlchemy cannot parse the text; up to the last ``@``, as
# a password typed with a bare ``@`` in it must not leak its tail.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^/@:\s]*:)\S*@")
# ``user:password@host`` typed without its ``scheme://``.
_NO_SCHEME_USERINFO = re.compile(r"^(?P<head>[^/@:\s]+:)\S*@")
# ``password=...`` (or ``passwd``, ``pwd``) in a query string.
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&;](?:password|passwd|pwd)=)[^&;#\s]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***``; any other text is returned unchanged.

    Uses SQLAlchemy's own rendering for database URLs, and hides a ``password=`` query
    parameter too. A URL without a password, a file path (a journal file) or a word such
    as ``memory`` comes back exactly as given; a string SQLAlchemy cannot parse still loses
    whatever sits between ``user:`` and ``@``.

    Example:
        >>> redact_url("postgresql+psycopg://team:S3cret@db.example:5432/studies")
        'postgresql+psycopg://team:***@db.example:5432/studies'
        >>> redact_url("sqlite:///archtune.db")
        'sqlite:///archtune.db'
        >>> redact_url("team:S3cret@db.example/studies")  # the scheme left out
        'team:***@db.example/studies'
    """
    if "://" not in url:  # a path, a word, or a URL whose scheme was left out
        return _NO_SCHEME_USERINFO.sub(rf"\g<head>{_HIDDEN}@", url)
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # unparsable: the plain patterns
        return _by_pattern(url)
    secret_keys = [key for key in parsed.query if key.lower() in ("password", "passwd", "pwd")]
    if parsed.password is None and not secret_keys:
        return url
    if "@" in (parsed.host or ""):  # a bare "@" in the password: SQLAlchemy split it there
        return _by_pattern(url)
    if secret_keys:
        parsed = parsed.update_query_dict({key: _HIDDEN for key in secret_keys})
    rendered: str = parsed.render_as_string(hide_password=True)
    return rendered


def _by_pattern(url: str) -> str:
    hidden = _USERINFO.sub(rf"\g<head>{_HIDDEN}@", url)
    return _QUERY_PASSWORD.sub(rf"\g<head>{_HIDDEN}", hidden)


def redact_text(text: str, url: str | None) -> str:
    """``text`` (an error message from a database driver) with ``url``'s password, and the
    password of any URL in it, shown as ``***``."""
    if url:
        try:
            from sqlalchemy.engine import make_url

            password = make_url(url).password
        except Exception:  # not a URL SQLAlchemy reads: nothing of it to look for
            password = None
        if password:
            text = text.replace(str(password), _HIDDEN)
    return _by_pattern(text)
