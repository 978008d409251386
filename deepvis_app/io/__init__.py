"""Input sources: image files and folders, the built-in sample images, video files, cameras (no Qt)."""
