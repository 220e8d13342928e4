"""Device-side code: protocol codecs, device agents and the fleet simulator."""
