"""Seeing what the networks learn: ``gonet viz ...`` writes a PNG for each view.

- :mod:`gonet.viz.methods`: first-layer filters, activation maximisation (with the L1
  "no ink" term), saliency, Grad-CAM and deep dream, for any conv net.
- :mod:`gonet.viz.go`: the same ideas on the Go board: the policy's heatmap for a position,
  the saliency of its chosen move, and the positions that excite a filter most.
"""
