"""postbot: long posts in, platform-exact teasers out, published on schedule exactly once."""
__version__ = "0.1.0"
