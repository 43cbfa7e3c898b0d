"""Assets that ship with vtonkit for `vtonkit demo` (CC0 person photos, see PROVENANCE.md)."""
