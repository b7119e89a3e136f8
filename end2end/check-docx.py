"""Opens a .docx with python-docx and prints its text, one paragraph per line, then the style
of every heading as `STYLE <name>` and every highlighted run as `HIGHLIGHT <text>`; then
`FOOTER PAGE` when a footer holds a page-number field. A file python-docx cannot open exits
non-zero."""
import sys

import docx

document = docx.Document(sys.argv[1])
for paragraph in document.paragraphs:
    print(paragraph.text)
    if paragraph.style is not None and paragraph.style.name.startswith("Heading"):
        print(f"STYLE {paragraph.style.name}")
    for run in paragraph.runs:
        if run.font.highlight_color is not None:
            print(f"HIGHLIGHT {run.text}")
for section in document.sections:
    if "PAGE" in section.footer._element.xml:
        print("FOOTER PAGE")
        break
