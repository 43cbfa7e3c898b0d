"""Exporters: a vtonkit / HR-VITON dataset to the layouts other try-on trainers read (one module per target)."""
