"""The music library: the folder scan, tags and index, IMAC matching, playlists."""
