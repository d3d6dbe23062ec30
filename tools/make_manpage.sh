#!/usr/bin/env bash
# Writes unioncam.1, the man page, from the binary's own help texts: `unioncam --help` for the
# synopsis and each command's --help for its section, so that the page never drifts from them.
#   tools/make_manpage.sh path/to/unioncam OUT.1
set -euo pipefail
bin=${1:?usage: make_manpage.sh UNIONCAM OUT.1}; out=${2:?usage: make_manpage.sh UNIONCAM OUT.1}
version=$("$bin" --version | head -1 | awk '{print $2}')
# roff: backslashes doubled, and a line starting with . or ' gets a zero-width escape first.
roff() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
{
  echo ".TH UNIONCAM 1 \"\" \"unioncam $version\" \"User Commands\""
  echo ".SH NAME"
  echo "unioncam \\- visual explanations (Grad-CAM, Grad-CAM++, Score-CAM, Group-CAM, UnionCAM) of VGG image classifiers"
  echo ".SH SYNOPSIS"
  echo ".B unioncam"
  echo ".I command"
  echo "[options] [images...]"
  echo ".SH DESCRIPTION"
  echo ".nf"
  "$bin" --help | roff
  echo ".fi"
  echo ".SH COMMANDS"
  for cmd in $("$bin" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}'); do
    [ "$cmd" = version ] && continue
    echo ".SS $cmd"
    echo ".nf"
    "$bin" "$cmd" --help | roff
    echo ".fi"
  done
  echo ".SH FILES"
  echo "The bundled demo model: share/unioncam/fashion_vgg16bn.h5 under the installation prefix."
  echo ".SH SEE ALSO"
  echo "The README of the unioncam sources; METHODS.md for each method's exact definition."
} >"$out.tmp"
mv "$out.tmp" "$out"
