"""Portable Bluetooth thermal printers: enforcement documents as ESC/POS and CPCL byte streams."""
