"""Try-on quality metrics (SSIM, PSNR, LPIPS, FID, KID) under named, documented protocols.

Each metric is its own module with pure functions; `protocols` names the settings papers use,
`matching` pairs predictions with ground-truth images, `runner` evaluates a folder, `report`
writes the JSON report and the HTML page. See docs/evaluation.md.
"""
