"""Where a bundle is published: the folder's URL and the URLs of its files.

A bundle with a feed is published as a folder on a web host; its feed URL
names that folder (or the feed in it). Every URL the feed and page give is
that folder's URL and a percent-encoded file name. ``podcast:guid``, the
podcast's identity, is a UUIDv5 of the feed's URL without its scheme and
trailing slashes, in the podcast namespace's own UUID namespace.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

from ..i18n import _
from ..rules import unsafe_character

FEED_FILE = "feed.xml"
"""A bundle's podcast feed, in its folder."""
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
"""The podcast namespace's UUIDv5 namespace for ``podcast:guid``."""

_HOST = re.compile(r"[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+")
"""A host name after IDNA, or an IPv6 address (urlsplit takes off its brackets)."""


def feed_folder_url(url: str) -> str:
    """The URL of the folder the bundle is published in, ending in ``/``.

    ``url`` is that folder (``https://example.org/groep``) or the feed
    itself (``https://example.org/groep/feed.xml``). A path with spaces or
    other letters is percent-encoded; a host in another script is written
    in IDNA.

    Raises ValueError (with the message to show) for anything but an
    http(s) URL with a host, or one with a user name, query or fragment.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(_("feed_url {url!r} is not a URL").format(url=url)) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(
            _("feed_url must be an http or https URL with a host, such as https://example.org/groep/, not {url!r}").format(
                url=url
            )
        )
    if (
        parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or unsafe_character(text) is not None
    ):
        raise ValueError(_("feed_url must be a plain folder URL, without a user name, '?' or '#': {url!r}").format(url=url))
    try:
        host = parts.hostname.encode("idna").decode("ascii")
        if not _HOST.fullmatch(host):
            raise UnicodeError(host)
    except UnicodeError:
        raise ValueError(_("feed_url {url!r} has a host name that cannot be written").format(url=url)) from None
    path = quote(parts.path, safe="/%:@!$&'()*+,;=~")
    if path.endswith("/" + FEED_FILE):
        path = path[: -len(FEED_FILE)]
    if not path.endswith("/"):
        path += "/"
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme.lower(), netloc + (f":{port}" if port is not None else ""), path, "", ""))


def file_url(folder_url: str, name: str) -> str:
    """The URL of a file of the bundle."""
    return folder_url + quote(name)


def podcast_guid(folder_url: str) -> str:
    """``podcast:guid``: UUIDv5 of the feed's URL, scheme and trailing slashes removed."""
    feed_url = file_url(folder_url, FEED_FILE)
    bare = feed_url.split("://", 1)[1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))
