"""The transparency log of case events (CASES.md §8): one RFC 9162 Merkle tree in PostgreSQL.

For the case services, the whole interface is::

    from hub.transparency import entries, store

    async with conn.transaction():
        ...  # the event's own rows and locks first
        queued = await store.append(
            conn, entries.document_issued(case_id=..., document_id=..., document_type=...,
                                          number=..., hash=pdf_sha256_hex, at=now)
        )
        ...  # keep (queued.queue_id, queued.leaf_hash) on the event's row
    # after the commit, once the sequencer integrated it (the hub's loop, within the MMD):
    index = await store.leaf_index(conn, queued.queue_id)  # None while still queued
    # or wait for it: await store.integrated(conn, [queued.queue_id], timeout_s=mmd)

and, to make ``ehub cases verify`` check that rows match their leaves,
``hub.transparency.verify.register_checker(name, checker)`` plus the module's name in
``verify.CHECKER_MODULES``.

Modules: ``merkle`` (pure RFC 9162 §2.1: hashes, proofs, verifiers), ``entries`` (what a leaf
may hold, builders), ``checkpoint`` (C2SP signed notes, Ed25519), ``store`` (SQL: the queue,
the sequencer, proofs from stored subtree hashes, checkpoints), ``service`` (issuing
checkpoints, the self-check and its alert, the hub loops: checkpoints and the sequencer),
``verify`` (the full check), ``api`` (the public ``/transparency`` routes).

Errors: ``hub.domain.errors`` (``Invalid`` for a bad entry or range, ``Conflict`` for an
append outside a transaction, ``service.LogInconsistent`` when the tree does not extend its
last checkpoint), ``store.LogCorrupt`` (a stored hash is missing, or a queued row was edited),
``store.NotIntegrated`` (a leaf not integrated within the wait), and
``checkpoint.CheckpointError`` (a malformed or wrongly signed note).
"""
