"""Post files -> a validated Post: `load_post(path)`.

Two formats:

* Markdown (`.md`, `.markdown`) with optional YAML front matter between `---` lines. The body
  becomes plain-text paragraphs separated by blank lines.
* A plain-text article like the real input this project started from (`.txt` or no extension):
  an optional leading date line (DD/MM/YYYY), one paragraph per line (or blank-line separated
  paragraphs, whose lines are then joined), and calls to action at the end, either
  `Label https://...` on one line or a label line followed by a URL line.

Anything wrong raises PostError naming the file, the line and the fix. Things that still work but
deserve a look (mis-decoded characters, missing alt text, repeated links) become Post.warnings,
each starting with `file:line[:column]:`. Line numbers always count lines of the file itself.

* load.py          load_post and slugify: reads the file, picks the format, checks across fields
* front_matter.py  YAML front matter with the line of every key, and each setting's value check
* plain.py         the plain-text article format: date line, paragraphs, trailing CTA lines
* markdown.py      Markdown bodies -> plain text
* hygiene.py       mis-decoded text as warnings at file:line:column, and --repair
* source.py        the file being read (errors and warnings at its lines), shared value helpers

PyYAML, markdown-it-py and postbot.text's heavy helpers are imported on first use: the CLI's
preview path imports this package and must start fast.
"""
from postbot.posts.load import load_post, slugify

__all__ = ["load_post", "slugify"]
