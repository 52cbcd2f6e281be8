#!/bin/sh
# The README's pictures of the editor, rendered by the application itself (no screen needed).
set -e
cd "$(dirname "$0")"
layer-studio --screenshot editor-cnn.png --template mnist_cnn --select conv2d --size 1400x1000 --theme light
layer-studio --screenshot editor-residual.png --template residual --select conv2d_1 --zoom 80 --size 1400x1000 --theme light
layer-studio --screenshot editor-residual-dark.png --template residual --select add --zoom 80 --size 1400x1000 --theme dark
# The walkthrough's Data page: the digits chosen, the model not fitted to them yet.
layer-studio --screenshot data-digits.png --template mnist_cnn --data digits --page data --size 1400x900 --theme light
# The dashboard: the tutorial CNN fitted to the built-in digits, mid-training and evaluated.
layer-studio --screenshot dashboard-training.png --template mnist_cnn --data digits --train 30 --at-epoch 9 --page train --size 1400x900 --theme light
layer-studio --screenshot dashboard-evaluation.png --template mnist_cnn --data digits --train 12 --page evaluate --size 1400x900 --theme light
layer-studio --screenshot dashboard-training-dark.png --template mnist_cnn --data digits --train 30 --at-epoch 9 --page train --size 1400x900 --theme dark
# The walkthrough's last step: File > Export... with the PyTorch script of the digits model.
layer-studio --screenshot export-pytorch.png --template mnist_cnn --data digits --train 1 --export pytorch --theme light
