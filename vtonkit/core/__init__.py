"""The small shared core every layer may import: errors, native-log redirection, progress display,
garment categories and the dataset state paths. It imports nothing else of vtonkit."""
