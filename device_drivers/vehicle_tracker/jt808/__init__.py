"""JT/T 808-2013/2019 codec: framing (``framing``), message types (``messages``), ``codec``.

Errors::

    CodecError
     ├── FrameError          bad delimiters, escape, length or truncated frame
     │    └── ChecksumError  XOR check code does not match
     └── UnsupportedMessage  a message id this codec does not decode (kept raw by callers)
"""
