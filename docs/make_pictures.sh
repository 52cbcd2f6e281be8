#!/bin/sh
# The README's pictures of the editor, rendered by the application itself (no screen needed).
set -e
cd "$(dirname "$0")"
layer-studio --screenshot editor-cnn.png --template mnist_cnn --select conv2d --size 1400x1000 --theme light
layer-studio --screenshot editor-residual.png --template residual --select conv2d_1 --zoom 80 --size 1400x1000 --theme light
layer-studio --screenshot editor-residual-dark.png --template residual --select add --zoom 80 --size 1400x1000 --theme dark
