"""Socket types shared by every SketchMotion node (ComfyUI V3 schema)."""

from comfy_api.latest import io

CATEGORY = "SketchMotion"
# Sub-categories of the node menu.
CATEGORY_SKETCH = CATEGORY + "/sketch"
CATEGORY_ANIMATE = CATEGORY + "/animate"
CATEGORY_3D = CATEGORY + "/3D"
CATEGORY_EXPORT = CATEGORY + "/export"

# One Sketch (vector strokes) / one SketchAnimation (strokes over time), as in core.sketch.
Sketch = io.Custom("SKETCH")
SketchAnimation = io.Custom("SKETCH_ANIMATION")
# A text-to-video model seen as a score-distillation loss (core.guidance.VideoPrior).
VideoPrior = io.Custom("SKETCHMOTION_VIDEO_PRIOR")
# Cameras (core.camera.Cameras): one per frame, or one for every frame.
Cameras = io.Custom("SKETCHMOTION_CAMERAS")
# A posed video (core.posed_video.PosedVideo): frames + one camera and one time per frame.
PosedVideo = io.Custom("SKETCHMOTION_POSED_VIDEO")
