# Sourced by scripts/test and scripts/demo: the system libraries WeasyPrint needs to render the
# hub's A4 documents (hub/documents/pdf.py; WeasyPrint >= 53 needs Pango >= 1.44) and a CJK
# font to embed. Debian 12/13 package names; idempotent and quiet when all are present.
_pdf_libs_missing() {
  # Whole outputs in variables: under pipefail, "grep -q" closing a pipe early fails it.
  local lib libs fonts
  libs="$(ldconfig -p 2>/dev/null || true)"
  for lib in libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz-subset.so.0 libfontconfig.so.1; do
    grep -q "$lib" <<<"$libs" || return 0
  done
  fonts="$(fc-list 2>/dev/null || true)"
  grep -qi "wenquanyi\|noto sans cjk" <<<"$fonts" || return 0
  return 1
}
if _pdf_libs_missing; then
  echo "[pdf] installing Pango, HarfBuzz and a CJK font for the A4 documents (apt)" >&2
  _pdf_pkgs="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-wqy-microhei"
  # shellcheck disable=SC2086
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $_pdf_pkgs \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $_pdf_pkgs; }; } \
      >/dev/null 2>&1 \
    || echo "[pdf] could not install $_pdf_pkgs: A4 documents will not render" >&2
  unset _pdf_pkgs
fi
unset -f _pdf_libs_missing
