"""SketchMotion: bring vector sketches to life (ComfyUI node pack + library).

ComfyUI loads this folder by path and calls `comfy_entrypoint` (V3 node API).
Importing the package stays light: nodes and ComfyUI's API are imported only when
ComfyUI asks for the node list, and heavy model libraries only when a node runs.
"""

__version__ = "0.1.0"

# ComfyUI serves this folder at /extensions/<pack folder>/; the frontend's node docs panel reads
# web/docs/<node id>.md (pictures in web/docs/media/).
WEB_DIRECTORY = "./web"


async def comfy_entrypoint():
    """ComfyUI V3 entry point: returns the extension that lists our nodes."""
    from .nodes import SketchMotionExtension

    return SketchMotionExtension()
