"""Tiny random models saved as real model folders, for tests and benches without downloads.

    from sketchmotion.testing.tiny_models import build_tiny_text_to_video, install_in_hf_cache
    from sketchmotion.testing.tiny_clip import build_tiny_open_clip, build_tiny_xclip
    from sketchmotion.testing.comfy_models import tiny_wan_state_dict, wan_vae_state_dict, conditioning

Nothing here imports pytest; diffusers, transformers, open_clip and ComfyUI are imported
inside the builders that need them (comfy_models needs ComfyUI on sys.path, so it is
outside core/, which never imports comfy).
"""
