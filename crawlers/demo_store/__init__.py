"""The demo store that ships with vtonkit: see ``server.py`` (serving), ``catalogue.json`` (data),
``pages.py`` (documents) and ``drawing.py`` (drawn garment shots)."""
