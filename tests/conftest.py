from pathlib import Path

# Service fixtures (PostgreSQL, the Bluesky PDS, Chromium) live in tests/services.py.
pytest_plugins = ["tests.services"] if (Path(__file__).parent / "services.py").exists() else []
