"""Typed readers and writers, one module per artifact of the HR-VITON layout."""
