"""Opens a .docx with python-docx and prints its text, one paragraph per line, then the style
of every heading as `STYLE <name>`; a file python-docx cannot open exits non-zero."""
import sys

import docx

document = docx.Document(sys.argv[1])
for paragraph in document.paragraphs:
    print(paragraph.text)
    if paragraph.style is not None and paragraph.style.name.startswith("Heading"):
        print(f"STYLE {paragraph.style.name}")
