"""`python -m sketchmotion scene3d`: film a synthetic moving 3D stroke scene as a D-NeRF folder.

    python -m sketchmotion scene3d SCENE --out DIR [--frames 24] [--size 128] [--camera moving|fixed] [--seed 0]
    python -m sketchmotion scene3d --list

The folder (transforms_{train,val,test}.json, RGBA frames, and the ground truth in
ground_truth.npz) is what `reconstruct3d` and ComfyUI's Load Posed Video read; with
the ground truth there, `reconstruct3d` also writes Chamfer / velocity errors.
"""

from __future__ import annotations


def cmd_scene3d(args) -> int:
    from ..errors import SketchError
    from ..scenes3d import SCENES, render_dnerf_folder

    if args.list:
        print("\n".join(SCENES))
        return 0
    if not args.scene or not args.out:
        raise SketchError("give a scene and --out DIR, e.g. `scene3d stick_figure --out scene/` "
                          f"(scenes: {', '.join(SCENES)}).")
    if args.scene not in SCENES:
        raise SketchError(f"unknown scene {args.scene!r}; choose one of: {', '.join(SCENES)}.")
    if args.frames < 2 or args.size < 16:
        raise SketchError("--frames must be >= 2 and --size >= 16.")
    render_dnerf_folder(args.scene, args.out, num_frames=args.frames, size=args.size, camera_mode=args.camera,
                        seed=args.seed)
    print(f"wrote {args.out}: {args.frames} frames of '{args.scene}' at {args.size} x {args.size} "
          f"({args.camera} camera). Next: python -m sketchmotion reconstruct3d {args.out} --out OUT_DIR")
    return 0


def register(sub) -> None:
    p = sub.add_parser("scene3d", help="film a synthetic moving 3D stroke scene as a D-NeRF folder (for reconstruct3d)")
    p.add_argument("scene", nargs="?", help="scene name (see --list), e.g. stick_figure")
    p.add_argument("--out", help="output folder (created)")
    p.add_argument("--frames", type=int, default=24, help="frames of the training split (default 24)")
    p.add_argument("--size", type=int, default=128, help="frame width and height in pixels (default 128)")
    p.add_argument("--camera", choices=["moving", "fixed"], default="moving",
                   help="moving: a new pose every frame, as in D-NeRF (default); fixed: one pose")
    p.add_argument("--seed", type=int, default=0, help="seeds the moving camera path")
    p.add_argument("--list", action="store_true", help="print the scene names and exit")
    p.set_defaults(func=cmd_scene3d)
