"""Signed checkpoints: the C2SP tlog-checkpoint text in a C2SP signed note, Ed25519 signed.

The note (c2sp.org/signed-note, c2sp.org/tlog-checkpoint)::

    <origin>\\n<tree size>\\n<base64 root hash>\\n
    \\n
    — <key name> <base64(4-byte key ID || 64-byte Ed25519 signature)>\\n

- the signature is Ed25519 (RFC 8032) over the note text, which is the three lines with their
  final newline (not the blank line);
- key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4] (signature type 0x01);
- the key name is the origin (tlog-checkpoint: "SHOULD match the origin line");
- a verifier ignores signatures from keys it does not know and rejects a note that no known
  key signed; one known key's bad signature rejects the note.

The verifier key string (``vkey``) is ``<name>+<hex key ID>+<base64(0x01 || public key)>``,
the form Go's ``golang.org/x/mod/sumdb/note`` and the transparency-dev tools accept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"  # c2sp.org/signed-note signature type for Ed25519
EM_DASH = "\u2014"
MAX_SIGNATURES = 16
_KEY_NAME = re.compile(r"[^\s+]+")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class CheckpointError(ValueError):
    """A note that is malformed, or not signed by the key we trust."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The note text: origin, size, base64 root, each ending in a newline."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def key_id(name: str, public_key: bytes) -> bytes:
    """c2sp.org/signed-note: SHA-256(key name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def vkey(name: str, public_key: bytes) -> str:
    """The verifier key: ``name+hex(key ID)+base64(0x01 || public key)``."""
    material = base64.b64encode(ED25519 + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{material}"


@dataclass(frozen=True)
class Signer:
    """The log's key: a name (the origin) and an Ed25519 private key."""

    name: str
    key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        if not _KEY_NAME.fullmatch(self.name):
            raise CheckpointError(f"key name {self.name!r} must be non-empty, no spaces or '+'")

    @classmethod
    def from_seed(cls, name: str, seed_b64: str) -> Signer:
        """From the base64 of a 32-byte Ed25519 seed (EHUB_HUB_LOG_SIGNING_KEY)."""
        try:
            seed = base64.b64decode(seed_b64.strip(), validate=True)
        except binascii.Error as exc:
            raise CheckpointError("the log signing key is not base64") from exc
        if len(seed) != 32:
            raise CheckpointError(f"the log signing key must be 32 bytes, not {len(seed)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.key.public_key())

    def sign(self, cp: Checkpoint) -> str:
        """The signed note for ``cp``."""
        if cp.origin != self.name:
            raise CheckpointError(f"origin {cp.origin!r} is not the key name {self.name!r}")
        text = cp.text()
        sig = key_id(self.name, self.public_key) + self.key.sign(text.encode())
        return f"{text}\n{EM_DASH} {self.name} {base64.b64encode(sig).decode()}\n"


def parse_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """c2sp.org/signed-note: the text (with its final newline) and the signature lines
    (key name, key ID || signature). No signature is checked here."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise CheckpointError("a signed note holds no control characters other than newline")
    sep = note.rfind("\n\n")
    if sep < 0 or not note.endswith("\n"):
        raise CheckpointError("a signed note is text, a blank line, then signature lines")
    text, sig_block = note[: sep + 1], note[sep + 2 :]
    sigs: list[tuple[str, bytes]] = []
    for line in sig_block.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not _KEY_NAME.fullmatch(parts[1]):
            raise CheckpointError(f"not a signature line: {line!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise CheckpointError(f"signature of {parts[1]} is not base64") from exc
        if len(raw) < 5:
            raise CheckpointError(f"signature of {parts[1]} is too short")
        sigs.append((parts[1], raw))
    if not sigs:
        raise CheckpointError("a signed note has at least one signature")
    if len(sigs) > MAX_SIGNATURES:
        raise CheckpointError(f"more than {MAX_SIGNATURES} signatures")
    return text, sigs


def verify_note(note: str, name: str, public_key: bytes) -> str:
    """The note's text if the Ed25519 key (``name``, ``public_key``) signed it; else raise.

    Signatures by other keys are ignored; one bad signature by this key rejects the note.
    """
    text, sigs = parse_note(note)
    want_id = key_id(name, public_key)
    pub = Ed25519PublicKey.from_public_bytes(public_key)
    known = [raw[4:] for n, raw in sigs if n == name and raw[:4] == want_id]
    if not known:
        raise CheckpointError(f"no signature by {name} ({want_id.hex()})")
    for sig in known:
        try:
            pub.verify(sig, text.encode())
        except InvalidSignature as exc:
            raise CheckpointError(f"the signature by {name} does not verify") from exc
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    """c2sp.org/tlog-checkpoint: origin, size (no leading zeros), base64 root, extensions."""
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or any(not line for line in lines):
        raise CheckpointError("a checkpoint has at least three non-empty lines")
    if not _SIZE.fullmatch(lines[1]):
        raise CheckpointError(f"tree size {lines[1]!r} is not a decimal without leading zeros")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error as exc:
        raise CheckpointError("the root hash is not base64") from exc
    if len(root) != 32:
        raise CheckpointError("the root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)


def verify(note: str, name: str, public_key: bytes) -> Checkpoint:
    """The checkpoint of ``note`` if the log's key signed it and its origin is the log's."""
    cp = parse_checkpoint(verify_note(note, name, public_key))
    if cp.origin != name:
        raise CheckpointError(f"origin {cp.origin!r} is not the log {name!r}")
    return cp
