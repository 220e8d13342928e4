"""Body cameras (执法记录仪) and their docks (采集站): recording, offload and evidence manifests."""
