"""Try-on previews: HR-VITON with the published checkpoints (numerically the official code), a
non-learned warp baseline, and catalog preview sheets. CLI: `vtonkit infer`, `vtonkit sheet`."""
