"""The inspector: any SUIT envelope as a decoded tree, diagnostic notation and hex bytes,
linked both ways, with verification badges and findings."""
