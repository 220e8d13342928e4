"""The body camera package's one exception tree.

    BodyCameraError
    ├── CameraStateError    asked of a camera what it cannot do now (record while docked, ...)
    ├── DockError           a dock asked to do what cannot be done (no free slot, not docked, ...)
    └── SidecarError        a file's metadata sidecar on a camera is missing or malformed

These are raised to the caller for misuse. Trouble with the files themselves during an offload
(a vanished source, a read error, a full store) is never raised: the dock reports it as an
``offload_failed`` event and carries on with the next file.
"""

from __future__ import annotations


class BodyCameraError(Exception):
    """Base of every error raised by the body camera package."""


class CameraStateError(BodyCameraError):
    """The camera cannot do this in its current state."""


class DockError(BodyCameraError):
    """The dock cannot do this: no such slot, slot taken, camera not docked, bad transition."""


class SidecarError(BodyCameraError, ValueError):
    """A recorded file's JSON sidecar cannot be read or does not describe that file."""
