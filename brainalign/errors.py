"""User-facing errors: one line that says what went wrong and what to do."""


class BrainAlignError(Exception):
    """Base class for errors shown to users as a single actionable line."""


class ConfigError(BrainAlignError):
    """A configuration value is invalid or refers to something unknown."""


class DataError(BrainAlignError):
    """Input data is missing, unreadable or inconsistent."""


class ModelError(BrainAlignError):
    """A model cannot be found, loaded or run."""


class DecoderError(BrainAlignError):
    """A decoder, generator or checkpoint does not fit the data it is given."""


class TrainingError(BrainAlignError):
    """A training run folder (config, checkpoints, weights) is missing, corrupt or holds another run, or the
    training setup (accelerate) cannot be made."""


class DiskFullError(BrainAlignError):
    """A write failed because the disk (or the user's quota) is full; nothing half-written is left."""


class NotWritableError(BrainAlignError):
    """An output or cache folder is a file, cannot be created, or cannot be written."""
