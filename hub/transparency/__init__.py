"""The transparency log of case events (CASES.md §8): one RFC 9162 Merkle tree in PostgreSQL.

For the case services, the whole interface is::

    from hub.transparency import entries, store

    async with conn.transaction():
        ...  # the event's own rows and locks first
        index, leaf_hash = await store.append(
            conn, entries.document_issued(case_id=..., document_id=..., document_type=...,
                                          number=..., hash=pdf_sha256_hex, at=now)
        )
        ...  # keep (index, leaf_hash) on the event's row; the public /verify page uses them

and, to make ``ehub cases verify`` check that rows match their leaves,
``hub.transparency.verify.register_checker(name, checker)`` plus the module's name in
``verify.CHECKER_MODULES``.

Modules: ``merkle`` (pure RFC 9162 §2.1: hashes, proofs, verifiers), ``entries`` (what a leaf
may hold, builders), ``checkpoint`` (C2SP signed notes, Ed25519), ``store`` (SQL: append,
proofs from stored subtree hashes, checkpoints), ``service`` (issuing checkpoints, the
self-check and its alert, the hub loop), ``verify`` (the full check), ``api`` (the public
``/transparency`` routes).

Errors: ``hub.domain.errors`` (``Invalid`` for a bad entry or range, ``Conflict`` for an
append outside a transaction, ``service.LogInconsistent`` when the tree does not extend its
last checkpoint), ``store.LogCorrupt`` (a stored hash is missing), and
``checkpoint.CheckpointError`` (a malformed or wrongly signed note).
"""
