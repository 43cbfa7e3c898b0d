"""Importers: public try-on datasets (Dress Code, VITON-HD) into the vtonkit layout (one module per source)."""
