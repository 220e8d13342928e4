"""The enforcement case workflow's pure domain (办案): legal values, catalog, discretion, lifecycle.

Nothing here touches the database, the clock or the network: services pass facts and time in and
carry out the effects that come back. ``../shared/CASES.md`` holds the rules these modules encode.
"""
