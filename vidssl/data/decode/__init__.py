"""Frame-accurate video readers over PyAV, decord, torchcodec and OpenCV."""
