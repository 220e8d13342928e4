"""A simulated fleet of body cameras, trackers, terminals and printers around Shenzhen."""
