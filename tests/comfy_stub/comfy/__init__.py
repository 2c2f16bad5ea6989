"""Stand-in for the parts of ComfyUI's `comfy` package SketchMotion's nodes call (see README.md)."""
