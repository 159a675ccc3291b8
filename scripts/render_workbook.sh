#!/usr/bin/env bash
# Render a workbook as LibreOffice prints it: XLSX -> PDF (soffice headless) -> one PNG per page (pdftoppm).
#   scripts/render_workbook.sh out/annexe.xlsx [out/render] [dpi]
# Needs libreoffice-calc and poppler-utils (apt-get install -y libreoffice-calc poppler-utils).
# A workbook LibreOffice cannot open cleanly produces no PDF: the script then fails.
set -euo pipefail
workbook=${1:?usage: render_workbook.sh WORKBOOK.xlsx [OUTDIR] [DPI]}
outdir=${2:-$(dirname "$workbook")/render}
dpi=${3:-80}
command -v soffice >/dev/null || { echo "soffice not found (apt-get install -y libreoffice-calc)" >&2; exit 2; }
command -v pdftoppm >/dev/null || { echo "pdftoppm not found (apt-get install -y poppler-utils)" >&2; exit 2; }
mkdir -p "$outdir"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# A private profile: no first-start wizard, no lock clash with a running LibreOffice. The locale decides
# how numbers print (1 234,56 € in French): RENDER_LANG=en_GB.UTF-8 for an English workbook.
LANG=${RENDER_LANG:-fr_FR.UTF-8} LC_ALL=${RENDER_LANG:-fr_FR.UTF-8} soffice -env:UserInstallation=file://"$profile" --headless --norestore --convert-to pdf --outdir "$outdir" "$workbook" >/dev/null
pdf="$outdir/$(basename "${workbook%.*}").pdf"
[ -s "$pdf" ] || { echo "no PDF produced for $workbook" >&2; exit 1; }
rm -f "$outdir"/page-*.png
pdftoppm -r "$dpi" -png "$pdf" "$outdir/page"
echo "$pdf"
ls "$outdir"/page-*.png
