"""Converts a .docx to PDF with LibreOffice (as WPS and LibreOffice users see it) and prints
the text of each page, after a line `=== PAGE <n> ===`. Exits non-zero when the conversion
fails."""
import pathlib
import subprocess
import sys
import tempfile

docx = pathlib.Path(sys.argv[1]).resolve()
with tempfile.TemporaryDirectory() as out:
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{out}/profile",
         "--convert-to", "pdf", "--outdir", out, str(docx)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
    )
    pdf = pathlib.Path(out) / (docx.stem + ".pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, timeout=60).stdout.decode("utf-8")
for n, page in enumerate(text.split("\f")[:-1], start=1):
    print(f"=== PAGE {n} ===")
    print(page)
