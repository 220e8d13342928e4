"""Vehicle trackers: the JT/T 808 protocol spoken by patrol-vehicle terminals in China."""
