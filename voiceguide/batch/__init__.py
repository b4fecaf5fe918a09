"""Trainer bundles: many tracks from one manifest.

``manifest``  read and check the TOML manifest (every problem at once)
``render``    plan and render the tracks in a process pool, resumably
``page``      playlist.m3u8, index.html (from the .html templates here) and the zip
``marks``     a track's breath phases and chapters (the page's visual, the feed's chapters)
``feed``      feed.xml: the bundle as a podcast (with ``cover``, its drawn cover image)
"""
