"""Pure domain rules of the hub: decisions and state machines, no IO."""
