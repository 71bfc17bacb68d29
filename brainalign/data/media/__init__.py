"""Reading stimulus media: audio (:mod:`.audio`: decode, mono, polyphase resampling) and video (:mod:`.video`:
decode with PyAV, frames at a set rate). Each reader gives one-line :class:`~brainalign.errors.DataError` for
unreadable, empty or silent files."""
