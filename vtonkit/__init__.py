"""vtonkit: shops and person photos to virtual try-on datasets and previews."""

__version__ = "0.1.0"
